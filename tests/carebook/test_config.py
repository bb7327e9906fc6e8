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
                                         "DATABASE_URL": "postgresql://db/x"})
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
