"""One unit of work per request: the edge commits once after a successful view; nothing else does."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import abort
from sqlalchemy import func, select

from carebook import audit, unit_of_work
from carebook.access import public
from carebook.app import create_app
from carebook.extensions import db
from models import AuditEntry
from tests.conftest import Browser, _test_env

ROOT = Path(__file__).resolve().parents[2]
#: The edges that commit: the request (carebook/unit_of_work.py) and the CLI commands.
COMMITTING_EDGES = {ROOT / "carebook" / "unit_of_work.py", ROOT / "carebook" / "cli.py"}
PROBE = "probe.written"
KEPT = "probe.kept_apart"


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"]


@pytest.mark.parametrize("package", ["portal", "admin", "carebook"])
def test_no_view_hook_or_service_calls_commit(package):
    offenders = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / package).rglob("*.py"))
                 if path not in COMMITTING_EDGES and (lines := _commit_calls(path))}
    assert offenders == {}, "commit once, at the edge (carebook/unit_of_work.py): " + repr(offenders)


def test_the_static_check_finds_a_commit(tmp_path):
    sample = tmp_path / "view.py"
    sample.write_text("def view():\n    db.session.add(thing)\n    db.session.commit()\n")
    assert _commit_calls(sample) == [3]


def _write(action: str = PROBE) -> None:
    audit.record(db.session, audit.Actor(None, "system"), action, "probe", None)


def _write_apart() -> None:
    unit_of_work.apart(lambda separate: audit.record(separate, audit.Actor(None, "system"), KEPT, "probe", None))


@pytest.fixture
def probe(app, database_url, tmp_path):
    """An app like the real one, with routes that write and then succeed, fail or refuse.

    ``app`` (the usual fixture) empties the tables afterwards.
    """
    probe_app = create_app(env=_test_env(database_url, tmp_path / "probe"),
                           overrides={"PROPAGATE_EXCEPTIONS": False})
    probe_app.test_client_class = Browser
    followed: list[int] = []

    def succeed():
        _write()
        _write_apart()
        unit_of_work.after_commit(lambda: followed.append(_count(PROBE)))
        return "ok"

    def crash():
        _write()
        _write_apart()
        unit_of_work.after_commit(lambda: followed.append(_count(PROBE)))
        raise RuntimeError("after writing")

    def refuse():
        _write()
        _write_apart()
        abort(403)

    def recover():
        _write("probe.failed_attempt")
        db.session.rollback()
        _write()
        return "handled"

    def follow_up_fails():
        _write()
        unit_of_work.after_commit(lambda: 1 / 0)
        return "ok"

    for view in (succeed, crash, refuse, recover, follow_up_fails):
        probe_app.add_url_rule(f"/probe/{view.__name__}", view.__name__, public(view), methods=["POST"])
    probe_app.followed = followed
    return probe_app


def _count(action: str) -> int:
    """Rows as another connection sees them: only what was committed."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_a_successful_view_is_committed_and_then_followed_up(probe):
    assert probe.test_client().submit("/probe/succeed").status_code == 200
    assert _count(PROBE) == 1
    assert probe.followed == [1]  # the follow-up ran after the commit: it saw the row


def test_a_view_that_raises_after_writing_leaves_nothing_behind(probe):
    assert probe.test_client().submit("/probe/crash").status_code == 500
    assert _count(PROBE) == 0
    assert probe.followed == []


def test_a_view_refused_after_writing_leaves_nothing_behind(probe):
    assert probe.test_client().submit("/probe/refuse").status_code == 403
    assert _count(PROBE) == 0


def test_rows_kept_apart_survive_a_failed_or_refused_request(probe):
    client = probe.test_client()
    client.submit("/probe/crash")
    client.submit("/probe/refuse")
    assert _count(KEPT) == 2


def test_rows_kept_apart_are_written_beside_a_successful_request(probe):
    probe.test_client().submit("/probe/succeed")
    assert _count(KEPT) == 1


def test_a_view_that_rolls_back_a_failed_attempt_commits_only_what_follows(probe):
    assert probe.test_client().submit("/probe/recover").status_code == 200
    assert (_count("probe.failed_attempt"), _count(PROBE)) == (0, 1)


def test_a_failing_follow_up_keeps_the_committed_change(probe, caplog):
    assert probe.test_client().submit("/probe/follow_up_fails").status_code == 200
    assert _count(PROBE) == 1
    assert "after-commit step" in caplog.text


def test_outside_a_request_work_kept_apart_joins_the_callers_transaction(app, session):
    _write_apart()
    session.rollback()
    assert _count(KEPT) == 0
    _write_apart()
    session.commit()
    assert _count(KEPT) == 1
