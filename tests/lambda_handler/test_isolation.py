"""The function is deployed alone, with the shared mail library: neither may import Flask or any part of the web app.

``lambda_handler`` may import the standard library, boto3 and ``messaging``;
``messaging`` only the standard library. Each is proven twice: imported and run in a
fresh interpreter that refuses every other import, and read statement by statement
(which also covers imports inside functions, such as the function's boto3).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = frozenset(sys.stdlib_module_names)
ALLOWED = {
    "lambda_handler": frozenset({"lambda_handler", "messaging", "boto3", "botocore"}),
    "messaging": frozenset({"messaging"}),
}

GUARD = """
import importlib.abc, sys

ALLOWED = {allowed!r} | sys.stdlib_module_names
BEFORE = set(sys.modules)

class OnlyAllowed(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in ALLOWED:
            raise ImportError(f"{package} must not import {{name}}")
        return None

sys.meta_path.insert(0, OnlyAllowed())
"""
LEAKS = """
leaked = sorted(name for name in set(sys.modules) - BEFORE if name.split(".")[0] not in ALLOWED)
print("leaked:", leaked)
"""
RUN_HANDLER = """
import lambda_handler, lambda_handler.handler, lambda_handler.build
from lambda_handler.handler import handler
print(handler({"Records": [{"messageId": "m1", "body": "not json"}]}, None, services=object()))
"""
RUN_MESSAGING = """
import tempfile
from pathlib import Path
import messaging, messaging.errors, messaging.mailers, messaging.message
from messaging.errors import describe_error
from messaging.mailers import FolderMailer
from messaging.message import Attachment, build_message

folder = Path(tempfile.mkdtemp())
FolderMailer(folder).send(build_message(sender="a@clinic.test", recipient="b@example.test", subject="s", text="t",
                                        html="<p>t</p>", attachments=[Attachment("a.ics", b"x", "text", "calendar")]))
print(len(list(folder.glob("*.eml"))), describe_error(ConnectionRefusedError("b@example.test")))
"""


def probe(package: str, run: str) -> list[str]:
    script = GUARD.format(allowed=set(ALLOWED[package]), package=package) + run + LEAKS
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_handler_imports_and_runs_with_only_the_standard_library_and_messaging():
    lines = probe("lambda_handler", RUN_HANDLER)
    assert lines == ["{'batchItemFailures': [{'itemIdentifier': 'm1'}]}", "leaked: []"]


def test_the_mail_library_imports_and_runs_with_only_the_standard_library():
    assert probe("messaging", RUN_MESSAGING) == ["1 ConnectionRefusedError", "leaked: []"]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_import_in_the_source_is_allowed(package):
    sources = sorted((ROOT / package).rglob("*.py"))
    assert sources
    for path in sources:
        for module in imported_modules(path):
            assert module.split(".")[0] in STDLIB | ALLOWED[package], (path.name, module)
