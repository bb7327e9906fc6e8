"""The function is deployed alone: it must not import Flask or any part of the web app."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("flask", "flask_sqlalchemy", "flask_login", "flask_admin", "flask_wtf", "flask_migrate", "sqlalchemy",
           "werkzeug", "carebook", "portal", "admin", "models", "reminders", "wsgi")

PROBE = f"""
import importlib.abc, sys

BLOCKED = {BLOCKED!r}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"lambda_handler must not import {{name}}")
        return None

sys.meta_path.insert(0, Block())
import lambda_handler, lambda_handler.handler, lambda_handler.build
from lambda_handler.handler import handler
print(handler({{"Records": [{{"messageId": "m1", "body": "not json"}}]}}, None, services=object()))
leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
print("leaked:", leaked)
"""


def test_the_handler_imports_and_runs_with_the_web_app_blocked():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["{'batchItemFailures': [{'itemIdentifier': 'm1'}]}", "leaked: []"]


def test_no_module_of_the_package_names_the_web_app():
    for path in (ROOT / "lambda_handler").glob("*.py"):
        source = path.read_text()
        for module in ("flask", "carebook", "portal", "models", "reminders"):
            assert f"import {module}" not in source and f"from {module}" not in source, (path.name, module)
