"""Configuration, read from the environment in one place and checked at start-up.

A setting that is wrong stops the app with a message naming the variable, rather
than failing on the first request that needs it.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Mapping, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carebook.slots import GRID_DURATION, GRID_MODES


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def refuse_to_start(error: BaseException | str, doing: str = "start") -> NoReturn:
    """End the process with one line that names the setting, and no traceback.

    What every entry point (wsgi.py for gunicorn and every `flask` command, migrations/env.py)
    does with a ConfigError: the operator reads one line, not the app's call stack.
    """
    raise SystemExit(f"Carebook cannot {doing}: {error}")


ENVIRONMENTS = ("development", "test", "production")


@dataclass(frozen=True)
class ClinicSettings:
    name: str
    address: str
    phone: str
    timezone: ZoneInfo
    #: ISO 3166 region in which phone numbers typed without a country code are read (carebook/phones.py).
    phone_region: str = "GB"


@dataclass(frozen=True)
class SessionTimeouts:
    """A sign-in ends after ``idle`` without a request, and after ``absolute`` whatever happens."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class BookingPolicy:
    minimum_notice: timedelta
    booking_horizon: timedelta
    cancellation_cutoff: timedelta
    #: The start times offered (SLOT_GRID_MINUTES): every so many minutes, or "duration" (each
    #: type's own length for the doctor, the default) or "duration+buffer" (carebook/slots.py).
    slot_grid: int | str = GRID_DURATION

    @property
    def cutoff_hours(self) -> int:
        """The online change/cancel cut-off in whole hours, as patients are told it."""
        return int(self.cancellation_cutoff.total_seconds() // 3600)


def int_setting(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, unit: str = "") -> int:
    """The whole number in ``env[name]`` (``default`` if unset or empty), at least ``minimum``."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number{' of ' + unit if unit else ''}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


#: SLOT_GRID_MINUTES as a number: from a fine 5-minute grid to one start every four hours.
SLOT_GRID_RANGE = (5, 240)


def slot_grid_setting(env: Mapping[str, str]) -> int | str:
    """SLOT_GRID_MINUTES: a whole number of minutes in SLOT_GRID_RANGE, ``duration`` (unset) or ``duration+buffer``."""
    raw = (env.get("SLOT_GRID_MINUTES") or "").strip()
    if not raw:
        return GRID_DURATION
    if raw.lower().replace(" ", "") in GRID_MODES:
        return raw.lower().replace(" ", "")
    low, high = SLOT_GRID_RANGE
    try:
        minutes = int(raw)
    except ValueError:
        minutes = None
    if minutes is None or not low <= minutes <= high:
        raise ConfigError(f"SLOT_GRID_MINUTES must be a whole number of minutes from {low} to {high}, "
                          f"duration or duration+buffer, got {raw!r}")
    return minutes


def phone_region_setting(env: Mapping[str, str], zone_name: str) -> str:
    """CLINIC_PHONE_REGION, checked; by default the country of the clinic's time zone, else GB."""
    from carebook import phones

    raw = (env.get("CLINIC_PHONE_REGION") or "").strip()
    if not raw:
        return phones.region_of_timezone(zone_name) or phones.FALLBACK_REGION
    region = raw.upper()
    if not phones.is_region(region):
        raise ConfigError(f"CLINIC_PHONE_REGION must be a two-letter country code with a phone numbering plan, "
                          f"such as GB, IE or FR, got {raw!r}")
    return region


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DATABASE_URL_EXAMPLES = "postgresql://user:password@host:5432/carebook or sqlite:////path/to/carebook.sqlite3"
#: The drivers installed with the app (psycopg 3, and Python's own sqlite3).
SUPPORTED_DRIVERS = ("postgresql+psycopg", "sqlite", "sqlite+pysqlite")


def checked_database_url(raw: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL ``raw``, or ConfigError saying what is wrong with it.

    The messages never repeat the URL itself: it usually holds a password.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = raw.strip()
    scheme = text.partition("://")[0] if "://" in text else ""
    if not scheme:
        raise ConfigError(f"DATABASE_URL is not a database URL; expected {DATABASE_URL_EXAMPLES}")
    try:
        url = make_url(normalise_database_url(text))
    except ValueError:  # SQLAlchemy's int() of the port
        raise ConfigError(f"DATABASE_URL has a port that is not a number; expected {DATABASE_URL_EXAMPLES}") from None
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a database URL; expected {DATABASE_URL_EXAMPLES}") from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL or SQLite URL ({DATABASE_URL_EXAMPLES}), "
                          f"got a {scheme!r} URL")
    if url.drivername.startswith("postgresql"):
        if not url.database:
            raise ConfigError("DATABASE_URL must name the database, as in postgresql://user:password@host:5432/carebook")
        from psycopg.conninfo import conninfo_to_dict

        try:  # libpq's own parser: unknown options (?sslmod=...) and bad values
            conninfo_to_dict(url.set(drivername="postgresql").render_as_string(hide_password=False))
        except Exception as error:  # psycopg.ProgrammingError; its text names the option, never the password
            raise ConfigError(f"DATABASE_URL is not a valid PostgreSQL URL: {str(error).strip()}") from None
    elif url.database and url.database != ":memory:":
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise ConfigError(f"DATABASE_URL names a SQLite file in {str(folder)!r}, a folder that does not exist")
    return url.render_as_string(hide_password=False)


REDIS_SCHEMES = ("redis", "rediss")


def checked_redis_url(raw: str) -> str:
    """REDIS_URL ``raw`` if it is a usable Redis URL, or ConfigError (never repeating a password)."""
    example = "redis://host:6379/0 (rediss:// for TLS)"
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(f"REDIS_URL has a port that is not a number; expected {example}") from None
    if parts.scheme not in REDIS_SCHEMES:
        got = f"a {parts.scheme!r} URL" if parts.scheme else "no URL"
        raise ConfigError(f"REDIS_URL must be a Redis URL such as {example}, got {got}")
    if not parts.hostname:
        raise ConfigError(f"REDIS_URL must name the Redis host, as in {example}")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"REDIS_URL has a port out of range ({port}); expected {example}")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ConfigError(f"REDIS_URL must end in a database number such as /0, got /{database}")
    return raw.strip()


DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def checked_base_url(env: Mapping[str, str], *, production: bool) -> str:
    """BASE_URL, the start of every link in an email: in production set, and https."""
    raw = (env.get("BASE_URL") or "").strip()
    if not raw:
        if production:
            raise ConfigError("BASE_URL must be set in production to the public https:// address "
                              "(e.g. https://appointments.clinic.example): every link in an email starts with it")
        return DEFAULT_BASE_URL
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"BASE_URL must be an address such as https://appointments.clinic.example, got {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"BASE_URL must be an address such as https://appointments.clinic.example, got {raw!r}")
    if production and parts.scheme != "https":
        raise ConfigError(f"BASE_URL must be an https:// address in production, got {raw!r}")
    return raw.rstrip("/")


def load_config(instance_path: str, env: Mapping[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables, or raise ConfigError."""
    env = os.environ if env is None else env
    environment = env.get("CAREBOOK_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"CAREBOOK_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    production = environment == "production"

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
        secret_key = _development_secret(instance_path)
    elif production and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")

    database_url = checked_database_url(env.get("DATABASE_URL")
                                        or f"sqlite:///{Path(instance_path) / 'carebook.sqlite3'}")
    if production and database_url.startswith("sqlite"):
        raise ConfigError("DATABASE_URL must point at PostgreSQL in production")

    zone_name = env.get("CLINIC_TIMEZONE", "Europe/London")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLINIC_TIMEZONE must be an IANA time zone such as Europe/London, got {zone_name!r}") from None

    clinic = ClinicSettings(
        name=env.get("CLINIC_NAME", "Riverside Family Clinic"),
        address=env.get("CLINIC_ADDRESS", "12 Riverside Walk, Exampleton EX1 2AB"),
        phone=env.get("CLINIC_PHONE", "01234 567890"),
        timezone=zone,
        phone_region=phone_region_setting(env, zone_name),
    )
    policy = BookingPolicy(
        minimum_notice=timedelta(minutes=int_setting(env, "BOOKING_MIN_NOTICE_MINUTES", 120)),
        booking_horizon=timedelta(days=int_setting(env, "BOOKING_HORIZON_DAYS", 60, minimum=1)),
        cancellation_cutoff=timedelta(hours=int_setting(env, "CANCELLATION_CUTOFF_HOURS", 24)),
        slot_grid=slot_grid_setting(env),
    )
    absolute_hours = int_setting(env, "SESSION_ABSOLUTE_HOURS",
                                 int_setting(env, "SESSION_LIFETIME_HOURS", 12, minimum=1), minimum=1)
    timeouts = SessionTimeouts(idle=timedelta(minutes=int_setting(env, "SESSION_IDLE_MINUTES", 30, minimum=1)),
                               absolute=timedelta(hours=absolute_hours))
    if timeouts.idle > timeouts.absolute:
        raise ConfigError("SESSION_IDLE_MINUTES must not be longer than SESSION_ABSOLUTE_HOURS")
    # argon2's cheapest parameters make a test suite's hundreds of sign-ins cheap (carebook/passwords.py).
    password_hashing = env.get("PASSWORD_HASHING") or "standard"
    if password_hashing not in ("standard", "fast-for-tests"):
        raise ConfigError(f"PASSWORD_HASHING must be standard or fast-for-tests, got {password_hashing!r}")
    if password_hashing == "fast-for-tests" and environment != "test":
        raise ConfigError("PASSWORD_HASHING=fast-for-tests is allowed only with CAREBOOK_ENV=test")
    config = {
        "ENV_NAME": environment,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CLINIC": clinic,
        "BOOKING_POLICY": policy,
        "SLOT_DAYS_SHOWN": int_setting(env, "SLOT_DAYS_SHOWN", 14, minimum=1),
        # Slot lists kept per process while the doctor's calendar is unchanged (carebook/slot_cache.py);
        # this is only the safety-net age of an entry, 0 turns the cache off.
        "SLOT_CACHE_SECONDS": int_setting(env, "SLOT_CACHE_SECONDS", 60),
        # In production the cookie is "__Host-" prefixed: browsers then only accept it over
        # HTTPS, for the whole site (Path=/) and for this host alone (no Domain attribute).
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_TIMEOUTS": timeouts,
        "PERMANENT_SESSION_LIFETIME": timeouts.absolute,
        "PASSWORD_HASHING": password_hashing,
        "PASSWORD_RESET_LIFETIME": timedelta(minutes=int_setting(env, "PASSWORD_RESET_MINUTES", 60, minimum=5)),
        # How long a staff invitation to go online works (carebook/invitations.py).
        "INVITATION_LIFETIME": timedelta(days=int_setting(env, "INVITATION_DAYS", 7, minimum=1, unit="days")),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session does
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "BASE_URL": checked_base_url(env, production=production),
        "RATELIMIT_STORAGE_URI": checked_redis_url(env["REDIS_URL"]) if env.get("REDIS_URL") else "memory://",
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "true").lower() != "false",
        "TRUSTED_PROXY_HOPS": int_setting(env, "TRUSTED_PROXY_HOPS", 0),
    }
    return config


def _development_secret(instance_path: str) -> str:
    """A random key kept in the instance folder, so development logins survive a restart."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
