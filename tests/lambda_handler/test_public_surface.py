"""The web app uses only the function's public surface, as lambda_handler/__init__.py lists it."""
from __future__ import annotations

import ast
from pathlib import Path

import lambda_handler

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    "lambda_handler.handler": {"handler", "Services"},
    "lambda_handler.idempotency": {"IdempotencyStore", "Claim"},
    "lambda_handler.payload": {"VERSION"},
}
#: Not the web app: the function itself, the library it carries, tests, and tooling folders.
NOT_THE_APP = {"lambda_handler", "messaging", "tests", ".venv", ".git", "build", "dist", "node_modules"}


def app_sources() -> list[Path]:
    sources = []
    for entry in ROOT.iterdir():
        if entry.name in NOT_THE_APP:
            continue
        if entry.is_dir():
            sources += entry.rglob("*.py")
        elif entry.suffix == ".py":
            sources.append(entry)
    return sorted(sources)


def uses_of_the_function(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for each name imported from lambda_handler; name None for a plain ``import``."""
    uses = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            uses += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "lambda_handler"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lambda_handler":
            uses += [(node.module, alias.name) for alias in node.names]
    return uses


def test_the_public_surface_is_documented_in_the_package_docstring():
    for module, names in PUBLIC.items():
        for name in names:
            assert f"{module}.{name}" in lambda_handler.__doc__


def test_the_public_names_exist():
    import importlib

    for module, names in PUBLIC.items():
        for name in names:
            assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_the_app_imports_nothing_else_of_the_function():
    sources = app_sources()
    assert any(path.parts[-2:] == ("backends", "local.py") for path in sources)
    for path in sources:
        for module, name in uses_of_the_function(path):
            assert name in PUBLIC.get(module, ()), f"{path.relative_to(ROOT)} imports {module}.{name or '*'}"
