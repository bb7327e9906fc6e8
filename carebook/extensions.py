"""Flask extensions, created unbound and attached to the app in create_app()."""
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from carebook.pseudonyms import client_address

# Every constraint gets a predictable name, so migrations can refer to it and the
# booking service can recognise which one a violation came from.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Counters live in Redis when REDIS_URL is set, so every gunicorn worker and container
# shares them, falling back to memory while Redis is away (carebook/throttle_store.py); in
# memory otherwise (embedded mode, one process). Counted per client address by default, as
# a keyed pseudonym: neither Redis nor a log line about a breached limit holds the address.
limiter = Limiter(key_func=client_address, headers_enabled=True)
