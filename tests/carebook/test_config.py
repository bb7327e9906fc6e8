"""Start-up configuration: read from the environment, refused with a clear message when wrong."""
from __future__ import annotations

from datetime import timedelta

import pytest

from carebook.config import ConfigError, load_config, normalise_database_url


def test_defaults_give_a_working_development_setup(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'carebook.sqlite3'}"
    assert config["CLINIC"].timezone.key == "Europe/London"
    assert len(config["SECRET_KEY"]) == 64 and config["SESSION_COOKIE_SECURE"] is False


def test_development_secret_survives_a_restart(tmp_path):
    assert load_config(str(tmp_path), {})["SECRET_KEY"] == load_config(str(tmp_path), {})["SECRET_KEY"]


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_config(str(tmp_path), {"CAREBOOK_ENV": "production", "DATABASE_URL": "postgresql://db/x"})


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(str(tmp_path), {"CAREBOOK_ENV": "production", "SECRET_KEY": "short",
                                    "DATABASE_URL": "postgresql://db/x"})


def test_production_refuses_sqlite(tmp_path):
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_config(str(tmp_path), {"CAREBOOK_ENV": "production", "SECRET_KEY": "k" * 40})


def test_production_marks_cookies_secure(tmp_path):
    config = load_config(str(tmp_path), {"CAREBOOK_ENV": "production", "SECRET_KEY": "k" * 40,
                                         "DATABASE_URL": "postgresql://db/x", "BASE_URL": "https://clinic.example"})
    assert config["SESSION_COOKIE_SECURE"] is True


def test_unknown_time_zone_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="CLINIC_TIMEZONE.*Mars/Olympus"):
        load_config(str(tmp_path), {"CLINIC_TIMEZONE": "Mars/Olympus"})


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="CAREBOOK_ENV"):
        load_config(str(tmp_path), {"CAREBOOK_ENV": "staging-ish"})


def test_policy_numbers_must_be_whole_numbers(tmp_path):
    with pytest.raises(ConfigError, match="BOOKING_MIN_NOTICE_MINUTES must be a whole number"):
        load_config(str(tmp_path), {"BOOKING_MIN_NOTICE_MINUTES": "two hours"})


def test_policy_is_read_from_the_environment(tmp_path):
    policy = load_config(str(tmp_path), {"BOOKING_MIN_NOTICE_MINUTES": "30", "BOOKING_HORIZON_DAYS": "10",
                                         "CANCELLATION_CUTOFF_HOURS": "48"})["BOOKING_POLICY"]
    assert (policy.minimum_notice, policy.booking_horizon, policy.cancellation_cutoff) == \
        (timedelta(minutes=30), timedelta(days=10), timedelta(hours=48))


def test_postgres_urls_use_psycopg_3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_phone_region_defaults_to_the_country_of_the_clinic_time_zone(tmp_path):
    assert load_config(str(tmp_path), {})["CLINIC"].phone_region == "GB"
    assert load_config(str(tmp_path), {"CLINIC_TIMEZONE": "Europe/Dublin"})["CLINIC"].phone_region == "IE"
    assert load_config(str(tmp_path), {"CLINIC_TIMEZONE": "America/Chicago"})["CLINIC"].phone_region == "US"


def test_phone_region_falls_back_to_gb_for_a_zone_of_no_country(tmp_path):
    assert load_config(str(tmp_path), {"CLINIC_TIMEZONE": "UTC"})["CLINIC"].phone_region == "GB"


def test_phone_region_is_read_from_the_environment_in_any_case(tmp_path):
    assert load_config(str(tmp_path), {"CLINIC_PHONE_REGION": "fr"})["CLINIC"].phone_region == "FR"


@pytest.mark.parametrize("value", ["XX", "England", "44", "G"])
def test_unknown_phone_region_is_refused_by_name(tmp_path, value):
    with pytest.raises(ConfigError, match=f"CLINIC_PHONE_REGION.*{value}"):
        load_config(str(tmp_path), {"CLINIC_PHONE_REGION": value})


# -- DATABASE_URL, REDIS_URL and BASE_URL: a wrong one is named, and its password never repeated ----------


@pytest.mark.parametrize("url, expected", [
    ("postgresql://carebook:s3cret-pw@db.internal:fivefourthreetwo/carebook", "DATABASE_URL has a port that is not a number"),
    ("carebook:s3cret-pw@db.internal/carebook", "DATABASE_URL is not a database URL"),
    ("postgresql://carebook:s3cret-pw@db.internal:5432", "DATABASE_URL must name the database"),
    ("mysql://carebook:s3cret-pw@db.internal/carebook", "DATABASE_URL must be a PostgreSQL or SQLite URL.*'mysql'"),
    ("postgresql+psycopg2://carebook:s3cret-pw@db.internal/carebook",
     "DATABASE_URL must be a PostgreSQL or SQLite URL.*'postgresql\\+psycopg2'"),
    ("postgresql://carebook:s3cret-pw@db.internal/carebook?sslmod=require",
     'DATABASE_URL is not a valid PostgreSQL URL: invalid URI query parameter: "sslmod"'),
])
def test_a_malformed_or_unsupported_database_url_is_named_without_its_password(tmp_path, url, expected):
    with pytest.raises(ConfigError, match=f"^{expected}") as refused:
        load_config(str(tmp_path), {"DATABASE_URL": url})
    assert "s3cret-pw" not in str(refused.value)


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL names a SQLite file in .*missing.*does not exist"):
        load_config(str(tmp_path), {"DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'carebook.sqlite3'}"})


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:pw@db.internal/carebook?sslmode=require",
     "postgresql+psycopg://u:pw@db.internal/carebook?sslmode=require"),
    ("postgresql://u@[::1]:5433/carebook", "postgresql+psycopg://u@[::1]:5433/carebook"),
    ("sqlite:////srv/carebook.sqlite3", "sqlite:////srv/carebook.sqlite3"),
])
def test_good_database_urls_are_kept(tmp_path, url, expected):
    assert load_config(str(tmp_path), {"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == expected


@pytest.mark.parametrize("url, expected", [
    ("http://:s3cret-pw@cache.internal:6379/0", "REDIS_URL must be a Redis URL .*got a 'http' URL"),
    ("cache.internal:6379", "REDIS_URL must be a Redis URL"),
    ("redis://:s3cret-pw@cache.internal:port/0", "REDIS_URL has a port that is not a number"),
    ("redis://:s3cret-pw@/0", "REDIS_URL must name the Redis host"),
    ("rediss://:s3cret-pw@cache.internal:6379/sessions", "REDIS_URL must end in a database number"),
])
def test_a_malformed_or_unsupported_redis_url_is_named_without_its_password(tmp_path, url, expected):
    with pytest.raises(ConfigError, match=f"^{expected}") as refused:
        load_config(str(tmp_path), {"REDIS_URL": url})
    assert "s3cret-pw" not in str(refused.value)


def test_a_good_redis_url_becomes_the_throttle_store(tmp_path):
    config = load_config(str(tmp_path), {"REDIS_URL": "rediss://:pw@cache.internal:6379/0"})
    assert config["RATELIMIT_STORAGE_URI"] == "rediss://:pw@cache.internal:6379/0"


PRODUCTION = {"CAREBOOK_ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": "postgresql://db/x"}


def test_production_refuses_to_start_without_a_base_url(tmp_path):
    with pytest.raises(ConfigError, match="^BASE_URL must be set in production"):
        load_config(str(tmp_path), PRODUCTION)


def test_production_refuses_a_plain_http_base_url(tmp_path):
    with pytest.raises(ConfigError, match="^BASE_URL must be an https:// address in production"):
        load_config(str(tmp_path), {**PRODUCTION, "BASE_URL": "http://appointments.clinic.example"})


@pytest.mark.parametrize("url", ["appointments.clinic.example", "ftp://clinic.example", "https://",
                                 "https://clinic.example/?next=x", "https://clinic.example:port"])
def test_a_base_url_that_is_no_web_address_is_refused(tmp_path, url):
    with pytest.raises(ConfigError, match="^BASE_URL must be an address"):
        load_config(str(tmp_path), {"BASE_URL": url})


def test_the_base_url_loses_a_trailing_slash_and_defaults_to_the_development_server(tmp_path):
    assert load_config(str(tmp_path), {**PRODUCTION, "BASE_URL": "https://clinic.example/"})["BASE_URL"] == \
        "https://clinic.example"
    assert load_config(str(tmp_path), {})["BASE_URL"] == "http://127.0.0.1:5000"


def test_the_slot_grid_defaults_to_each_types_duration(tmp_path):
    assert load_config(str(tmp_path), {})["BOOKING_POLICY"].slot_grid == "duration"
    assert load_config(str(tmp_path), {"SLOT_GRID_MINUTES": ""})["BOOKING_POLICY"].slot_grid == "duration"


@pytest.mark.parametrize("value, expected", [("duration", "duration"), ("Duration", "duration"),
                                             ("duration+buffer", "duration+buffer"),
                                             ("duration + buffer", "duration+buffer"),
                                             ("5", 5), ("15", 15), (" 10 ", 10), ("240", 240)])
def test_the_slot_grid_is_a_number_of_minutes_or_a_named_grid(tmp_path, value, expected):
    assert load_config(str(tmp_path), {"SLOT_GRID_MINUTES": value})["BOOKING_POLICY"].slot_grid == expected


@pytest.mark.parametrize("value", ["0", "4", "241", "-5", "7.5", "quarter", "buffer", "duration+"])
def test_a_slot_grid_out_of_range_or_unknown_is_refused_in_one_line(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^SLOT_GRID_MINUTES must be a whole number of minutes from 5 to 240, "
                                          r"duration or duration\+buffer, got ") as refused:
        load_config(str(tmp_path), {"SLOT_GRID_MINUTES": value})
    assert "\n" not in str(refused.value) and repr(value) in str(refused.value)
