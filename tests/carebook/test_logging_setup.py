"""Structured logs: JSON lines, a request id on each, and no personal data in them."""
from __future__ import annotations

import io
import json
import logging
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from carebook import logging_setup
from carebook.access import public
from carebook.extensions import db
from tests import mailbox
from tests.factories import make_doctor

EMAIL = "ada.secret@mailbox.org"
NAME = "Ada Secretname"
PASSWORD = "a long passphrase nobody guesses 42"


@pytest.fixture
def log_lines():
    """Every log record of the app, as the JSON lines production writes; restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logging_setup.configure_logging("json", "DEBUG", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


# -- request ids --------------------------------------------------------------------------------


def test_a_request_without_an_id_gets_a_new_one_in_the_response(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0 and first != second


def test_a_well_formed_id_from_the_load_balancer_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "Root=1-67891233-abcdef012345678912345678"[5:]})
    assert response.headers["X-Request-ID"] == "1-67891233-abcdef012345678912345678"


@pytest.mark.parametrize("bad", ["short", "x" * 129, "has space in it", "semi;colon;id", "tab\tinside-the-id",
                                 "<script>alert(1)</script>", "ümlaut-request-id"])
def test_a_malformed_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad.encode("utf-8").decode("latin-1")})
    returned = response.headers["X-Request-ID"]
    assert returned != bad and len(returned) == 32


@pytest.mark.own_app  # adds a route
def test_every_line_of_a_request_carries_its_id(app, client, log_lines):
    @public
    def noisy():
        app.logger.info("first line")
        logging.getLogger("carebook.somewhere").warning("second line")
        return "ok"

    app.add_url_rule("/test-noisy", "test_noisy", noisy)
    response = client.get("/test-noisy", headers={"X-Request-ID": "lb-request-0001"})
    assert response.headers["X-Request-ID"] == "lb-request-0001"
    lines = [line for line in log_lines() if line["message"] in ("first line", "second line")]
    assert [line["request_id"] for line in lines] == ["lb-request-0001", "lb-request-0001"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])


def test_lines_outside_a_request_have_no_id(log_lines):
    logging.getLogger("carebook.worker").info("between requests")
    [line] = [line for line in log_lines() if line["message"] == "between requests"]
    assert line["request_id"] is None and line["level"] == "INFO" and line["logger"] == "carebook.worker"


# -- no personal data ---------------------------------------------------------------------------


def test_a_patients_journey_leaves_no_personal_data_in_the_logs(app, client, log_lines):
    doctor = make_doctor(name="Dr Visible Doctorname")
    db.session.commit()
    # Registration (the request, the relay's email, the link), sign-in, a search with a query string,
    # a booking with a reason, a bad request.
    token = client.csrf_token()
    registered = client.post("/api/patients", json={
        "full_name": NAME, "email": EMAIL, "date_of_birth": "1980-02-03", "phone": "07700 900123",
        "password": PASSWORD}, headers={"X-CSRFToken": token})
    assert registered.status_code == 202, registered.get_data(as_text=True)
    assert mailbox.finish_registration(app, client, EMAIL).status_code == 302
    day = date(2026, 6, 2)
    client.get(f"/api/doctors/{doctor.id}/slots?from={day}&to={day + timedelta(days=3)}&note={EMAIL}")
    client.api("POST", "/api/appointments", json={"doctor_id": doctor.id, "start_at": "2026-06-02T09:00:00Z",
                                                  "reason": "private symptoms described here"})
    client.api("POST", "/api/appointments", json={"doctor_id": doctor.id, "start_at": "not a time",
                                                  "reason": "private symptoms described here"})
    client.get(f"/doctors?specialty={NAME}")
    cookie = client.get_cookie("session")
    text = "\n".join(json.dumps(line) for line in log_lines())
    for secret in (EMAIL, NAME, "Secretname", PASSWORD, "private symptoms", "07700 900123", "1980-02-03"):
        assert secret not in text
    assert cookie is not None and cookie.value not in text


@pytest.mark.own_app  # adds a route
def test_an_email_address_in_a_message_or_an_error_is_masked(app, client, log_lines):
    @public
    def failing():
        app.logger.warning("about %s", EMAIL)
        raise RuntimeError(f"could not reach {EMAIL}")

    app.add_url_rule("/test-failing", "test_failing", failing)
    response = client.get("/test-failing")
    assert response.status_code == 500
    text = "\n".join(json.dumps(line) for line in log_lines())
    assert EMAIL not in text and "[email]" in text
    [error] = [line for line in log_lines() if line.get("exception")]
    assert error["exception"]["type"] == "RuntimeError" and error["request_id"]


CLIENT_ADDRESS = "203.0.113.77"


@pytest.mark.own_app  # adds a route
def test_an_ip_address_in_a_message_or_an_error_is_masked(app, client, log_lines):
    @public
    def failing():
        app.logger.warning("from %s and %s", CLIENT_ADDRESS, "2001:db8::7")
        raise RuntimeError(f"peer {CLIENT_ADDRESS}:5432 went away")

    app.add_url_rule("/test-failing", "test_failing", failing)
    assert client.get("/test-failing").status_code == 500
    text = "\n".join(json.dumps(line) for line in log_lines())
    assert CLIENT_ADDRESS not in text and "2001:db8::7" not in text and "[address]" in text


@pytest.mark.parametrize("message", ["at 07:00:00 on 2026-06-01", "version 1.2.3", "ratio 3:2", "1.2.3.4.5"])
def test_times_and_version_numbers_are_not_taken_for_addresses(message):
    assert logging_setup.redact(message) == message


def test_a_breached_throttle_is_logged_with_a_pseudonym_not_the_client_address(app, client, log_lines):
    from tests.factories import make_patient

    patient = make_patient(email=EMAIL)
    db.session.commit()
    address = {"REMOTE_ADDR": CLIENT_ADDRESS}
    for _ in range(5):
        client.submit("/login", {"email": EMAIL, "password": "wrong wrong wrong"}, environ_base=address)
    assert client.submit("/login", {"email": EMAIL, "password": PASSWORD}, environ_base=address).status_code == 429
    lines = [line["message"] for line in log_lines() if "exceeded" in line["message"]]
    assert lines and all("address:" in line and "account:" in line for line in lines)
    text = "\n".join(json.dumps(line) for line in log_lines())
    assert CLIENT_ADDRESS not in text and EMAIL not in text and patient.user.email not in text


def test_production_errors_do_not_carry_the_statements_parameters():
    from carebook.database import database_config

    production = database_config("postgresql+psycopg://db/carebook", {"CAREBOOK_ENV": "production"})
    assert production["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


# -- gunicorn's access line ---------------------------------------------------------------------


def test_gunicorn_access_lines_are_json_without_query_string_client_or_headers(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setenv("LOG_FORMAT", "json")
    config = Config()
    config.set("accesslog", "-")
    logger = logging_setup.GunicornLogger(config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        handler.setStream(stream)
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/api/doctors/3/slots", "QUERY_STRING": f"from=2026-06-02&who={EMAIL}",
        "RAW_URI": f"/api/doctors/3/slots?from=2026-06-02&who={EMAIL}", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Secret Browser", "HTTP_COOKIE": "session=s3cr3t",
        logging_setup.ENVIRON_KEY: "req-id-from-middleware",
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[("Content-Type", "application/json")])
    request = SimpleNamespace(headers=[("Cookie", "session=s3cr3t")])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["request_id"] == "req-id-from-middleware"
    assert (line["method"], line["path"], line["status"], line["bytes"]) == ("GET", "/api/doctors/3/slots", 200, 1234)
    assert line["duration_ms"] == 12.0
    raw = stream.getvalue()
    for secret in (EMAIL, "who=", "203.0.113.9", "Secret Browser", "s3cr3t"):
        assert secret not in raw
