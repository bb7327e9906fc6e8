"""One unit of work per request: commit once after a successful view, roll back on any error.

The edge commits, never a view (as indico's request handler does):

* :class:`UnitOfWorkFlask` commits the request's session once, right after the view
  function returned. A view that raised (``abort()`` included) commits nothing: the
  session is rolled back when the request ends. A view that handles a domain error
  itself rolls back what the failed attempt left (``db.session.rollback()``) and
  returns its page; the commit then has nothing of it to write.
* :func:`after_commit` queues what must happen only once the change is durable (an
  email that names it): it runs after the commit, never after a rollback.
* :func:`apart` is for the few rows that must outlive the request's own transaction:
  the audit rows of a refused request (failed sign-in or code, throttling, a CSRF or
  access refusal) and the sign-in session's bookkeeping (last seen, a timed-out
  session ended). They are written in their own short transaction, on a connection
  of their own, once the request's transaction has ended (committed or rolled back),
  so they never wait on a lock the request holds (SQLite has a single writer) and
  never commit half of the request's work with them.

Outside a request (the CLI, the relay worker, tests calling services) the caller's
session is the unit of work: :func:`apart` writes in it, and the command commits once.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from carebook import database
from carebook.extensions import db

log = logging.getLogger(__name__)

#: Work to write in a transaction of its own: gets a session, flushes nothing else. It may
#: return a follow-up, run once that transaction is committed (an email that names what it wrote).
ApartWork = Callable[[Session], Optional[Callable[[], None]]]

_AFTER_COMMIT = "_unit_of_work_after_commit"
_APART = "_unit_of_work_apart"


class UnitOfWorkFlask(Flask):
    """Flask, committing the request's session once after the view returned without raising."""

    def dispatch_request(self):
        result = super().dispatch_request()
        commit()
        return result


def commit() -> None:
    """Commit the request's work, then run what waited for it.

    A failing commit raises into Flask's error handling like a failing view (a 500, or
    the 503 of carebook.database when the database is away), and nothing waiting runs.
    """
    db.session.commit()
    for callback in g.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:  # the change stands; a failed follow-up must not turn it into an error page
            log.exception("after-commit step %s failed", getattr(callback, "__qualname__", callback))


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once this request's work is committed; never if it is rolled back."""
    g.setdefault(_AFTER_COMMIT, []).append(callback)


def apart(work: ApartWork, session: Session | None = None) -> None:
    """Write ``work`` so that it survives whatever happens to the request's own transaction.

    In a request it runs in a transaction of its own after the request's has ended.
    Outside one it runs at once in ``session`` (default: the app's), whose owner commits;
    a follow-up it returns then runs when that session next commits.
    """
    if has_request_context():
        g.setdefault(_APART, []).append(work)
        return
    session = session if session is not None else db.session
    follow_up = work(session)
    if follow_up is not None:
        target = session() if isinstance(session, scoped_session) else session
        event.listen(target, "after_commit", lambda _session: _run_follow_ups([follow_up]), once=True)


def _end_request(error: BaseException | None) -> None:
    """teardown_request: undo what was not committed, then write the rows kept apart."""
    g.pop(_AFTER_COMMIT, None)
    db.session.rollback()
    pending = g.pop(_APART, None)
    if not pending:
        return
    try:
        with database.separate_session(db.engine) as separate:
            follow_ups = [follow_up for follow_up in (work(separate) for work in pending) if follow_up is not None]
    except Exception:  # teardown cannot change the answer any more; say loudly what was lost
        log.exception("could not write %d row(s) kept apart from the request", len(pending))
        return
    _run_follow_ups(follow_ups)


def _run_follow_ups(follow_ups: list[Callable[[], None]]) -> None:
    for follow_up in follow_ups:
        try:
            follow_up()
        except Exception:  # what was written stands
            log.exception("follow-up %s of a row kept apart failed", getattr(follow_up, "__qualname__", follow_up))


def init_app(app: Flask) -> None:
    """Register the end of the unit of work. Register it after carebook.database's hooks:
    teardown functions run in reverse order, so this one ends the request's transaction
    before that module hands the connection back to the pool."""
    app.teardown_request(_end_request)
