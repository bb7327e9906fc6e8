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
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message says which and how to fix it."""


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
    #: Minutes between the start times offered (SLOT_GRID_MINUTES); None: each type's length plus its buffer.
    slot_grid_minutes: int | None = None

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

    database_url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'carebook.sqlite3'}"
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
        slot_grid_minutes=int_setting(env, "SLOT_GRID_MINUTES", 0, minimum=0, unit="minutes") or None,
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
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
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
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
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
