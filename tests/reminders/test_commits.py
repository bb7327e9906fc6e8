"""Every commit of the reminder path is at an edge: the relay worker's pass and the reconcile command.

Services and backends write through the session and leave the commit to their caller,
so a failure rolls back one unit of work and never half of it.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reminders"
EDGES = {
    ("relay.py", "relay_once"),    # the claim, and the local reminders' claim and outcome
    ("relay.py", "_relay_batch"),  # one unit per outbox row
    ("cli.py", "reconcile_command"),
}


def commit_sites() -> set[tuple[str, str]]:
    """(file, innermost enclosing function) of every ``.commit()`` call in the package."""
    sites = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        enclosing = {}
        for function in ast.walk(tree):  # outer functions first, so the innermost one wins
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                enclosing.update((node, function.name) for node in ast.walk(function))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
                sites.add((path.relative_to(PACKAGE).as_posix(), enclosing.get(node, "<module>")))
    return sites


def test_only_the_edges_commit():
    assert commit_sites() == EDGES
