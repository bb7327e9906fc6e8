"""A failed send described for logs and for the outbox's ``last_error``."""
from __future__ import annotations


def describe_error(error: BaseException) -> str:
    """The error's class and service code: never its message, which may quote an address."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return f"{type(error).__name__}: {code}"[:200]
    smtp_code = getattr(error, "smtp_code", None)
    if isinstance(smtp_code, int):
        return f"{type(error).__name__}: SMTP {smtp_code}"[:200]
    return type(error).__name__[:200]
