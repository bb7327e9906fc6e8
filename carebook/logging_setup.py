"""Structured logs: one JSON object per line, each with the request it belongs to, and no personal data.

* Every request gets an id: the load balancer's ``X-Request-ID`` when it is well formed,
  else a new random one. It is echoed in the response's ``X-Request-ID`` header and
  written on every log line made while the request runs, including gunicorn's access line.
* A line holds the time, level, logger, message and request id; an access line adds
  method, path, status, bytes and duration. Never the query string, body, cookies,
  headers or client address. Messages are the app's own (ids, not names or emails; the
  throttles' keys are keyed pseudonyms, carebook/pseudonyms.py), and anything shaped like
  an email or IP address is masked as a second line of defence.
* ``LOG_FORMAT`` = ``json`` (the default in production) or ``text``; ``LOG_LEVEL``
  (default ``INFO``). gunicorn uses :class:`GunicornLogger` (see gunicorn.conf.py).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any, Callable, Iterable, Mapping, TextIO

from flask import Flask

REQUEST_ID_HEADER = "X-Request-ID"
#: Where the middleware leaves the id in the WSGI environ (gunicorn's access log reads it there).
ENVIRON_KEY = "carebook.request_id"
# Ids from outside are logged verbatim, so only a conservative shape is accepted: letters,
# digits and . _ : - (UUIDs, ULIDs, AWS trace ids), 8 to 128 characters.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{7,127}")
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Candidates only: each is checked with the ipaddress module before it is masked.
_IP_ADDRESS = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"  # IPv4, with or without a :port after it
                         r"|(?<![\w.:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?"
                         r"(?:%[\w.]+)?(?![\w.:])")  # IPv6
_HANDLER_MARK = "_carebook_handler"

_request_id: ContextVar[str | None] = ContextVar("carebook_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code runs for, or None outside a request."""
    return _request_id.get()


def accepted_request_id(value: str | None) -> str | None:
    """``value`` if it is a request id we are willing to log, else None."""
    if value and _WELL_FORMED_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """WSGI middleware: pick the request id, make it current, and echo it in the response."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request_id = accepted_request_id(environ.get("HTTP_X_REQUEST_ID")) or new_request_id()
        environ[ENVIRON_KEY] = request_id
        token = _request_id.set(request_id)

        def start_with_id(status: str, headers: list, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            _request_id.reset(token)


def _masked_address(match: re.Match) -> str:
    try:
        ipaddress.ip_address(match.group(0).split("%", 1)[0])
    except ValueError:
        return match.group(0)  # a time of day, a version number...: not an address
    return "[address]"


def redact(text: str) -> str:
    """Mask anything shaped like an email or IP address (the app's own lines carry neither)."""
    return _IP_ADDRESS.sub(_masked_address, _EMAIL.sub("[email]", text))


#: Extra attributes a record may carry that belong in the JSON object (gunicorn's access line).
ACCESS_FIELDS = ("method", "path", "status", "bytes", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = {"type": record.exc_info[0].__name__ if record.exc_info[0] else None,
                                  "traceback": redact(self.formatException(record.exc_info))}
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For people at a terminal: the same facts, on one readable line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return redact(super().format(record))


def _utc_timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a record comes (test runners swap it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(log_format: str = "json", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stdout) through one handler on the root logger.

    Calling it again replaces that handler, so it is safe in tests and after a fork.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _StdoutHandler()
    handler.setFormatter(formatter_for(log_format))
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask, env: Mapping[str, str]) -> None:
    """Request ids for every request; JSON logs when LOG_FORMAT asks (the default in production)."""
    default_format = "json" if app.config.get("ENV_NAME") == "production" else "text"
    log_format = (env.get("LOG_FORMAT") or default_format).lower()
    if log_format not in ("json", "text"):
        from carebook.config import ConfigError

        raise ConfigError(f"LOG_FORMAT must be json or text, got {log_format!r}")
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        from carebook.config import ConfigError

        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
    app.config["LOG_FORMAT"] = log_format
    if log_format == "json" or env.get("LOG_LEVEL"):
        configure_logging(log_format, level)
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)


try:  # gunicorn is there in production; the rest of this module works without it
    from gunicorn.glogging import Logger as _GunicornBaseLogger
except ImportError:  # pragma: no cover
    _GunicornBaseLogger = object


class GunicornLogger(_GunicornBaseLogger):
    """gunicorn's logger with JSON lines: its own messages, and an access line per request.

    The access line is built from fields, not from ``access_log_format``, so nothing
    from the query string, headers or the client's address can slip into it.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = formatter_for((os.environ.get("LOG_FORMAT") or "json").lower())
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": environ.get(ENVIRON_KEY),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)
        except Exception:  # noqa: BLE001 - a log line must never break a response
            self.error("access log line failed")
