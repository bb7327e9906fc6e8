"""How long an answer takes says nothing about who has an account: "forgot password" and registration
take as long for an address that has one as for an address that has none.

Timing is noisy, above all on a small machine shared with other work, so each test measures many
requests and compares robust figures, never one request:

* the two kinds of request are interleaved, pair by pair, in a random (seeded) order, so a burst of
  load elsewhere slows both kinds alike;
* each request comes from a fresh client (its CSRF token fetched before the clock starts), so no
  request inherits anything from the one before;
* the figure compared is the median of the differences within the pairs, against the median
  request: a median hardly moves for the few requests that a busy machine stalls.

When the reset email was sent inside the request, a forgot-password request for an address with an
account took 1.25 to 1.5 times as long as one for an address without; a registration with a new
address took far longer than one with a taken address (which failed early). The bound allows a
difference of 10% of a request either way: far above what the now identical work leaves, far below
what the old code showed.
"""
from __future__ import annotations

import random
import statistics
import time

import pytest

from carebook.extensions import db, limiter
from tests.factories import make_patient

PAIRS = 250
WARM_UP = 10
BOUND = 0.10


@pytest.fixture
def unthrottled(monkeypatch):
    # Hundreds of requests from one address: the throttles (tested elsewhere) would refuse most.
    monkeypatch.setattr(limiter, "enabled", False)


def timed_pairs(app, with_account, without_account) -> list[tuple[float, float]]:
    """(seconds with an account, seconds without) of ``PAIRS`` pairs of requests, each pair sent in a
    random order right after the other."""
    order = random.Random(20260601)
    pairs = []
    for number in range(WARM_UP + PAIRS):
        kinds = [with_account, without_account]
        order.shuffle(kinds)
        took = {}
        for send in kinds:
            client = app.test_client()
            token = client.csrf_token()
            started = time.perf_counter()
            response = send(client, token, number)
            took[send] = time.perf_counter() - started
            assert response.status_code < 500
        if number >= WARM_UP:
            pairs.append((took[with_account], took[without_account]))
    return pairs


def assert_indistinguishable(pairs: list[tuple[float, float]]) -> None:
    """The typical difference within a pair is under ``BOUND`` of the typical request.

    The median of the paired differences: each pair shared the machine's load of its moment, so
    a slow spell elsewhere cancels out instead of landing on one kind.
    """
    typical = statistics.median(seconds for pair in pairs for seconds in pair)
    shift = statistics.median(with_account - without_account for with_account, without_account in pairs)
    with_account = statistics.median(pair[0] for pair in pairs)
    without_account = statistics.median(pair[1] for pair in pairs)
    assert abs(shift) < BOUND * typical, (
        f"an address with an account took {shift * 1000:+.2f} ms ({shift / typical:+.0%}) in the typical pair; "
        f"medians {with_account * 1000:.2f} ms with an account, {without_account * 1000:.2f} ms without")


def test_forgot_password_takes_as_long_for_an_address_with_an_account(app, unthrottled):
    make_patient(email="known@example.com")
    db.session.commit()

    def with_account(client, token, number):
        return client.post("/password/forgot", data={"email": "known@example.com", "csrf_token": token})

    def without_account(client, token, number):
        return client.post("/password/forgot", data={"email": f"nobody{number}@example.com", "csrf_token": token})

    assert_indistinguishable(timed_pairs(app, with_account, without_account))


def test_registration_takes_as_long_for_an_address_with_an_account(app, unthrottled):
    make_patient(email="taken@example.com")
    db.session.commit()
    details = {"full_name": "Nora New", "date_of_birth": "1991-02-03", "phone": "07700 900111",
               "password": "a long enough passphrase"}

    def with_account(client, token, number):
        return client.post("/register", data={**details, "email": "taken@example.com", "csrf_token": token})

    def without_account(client, token, number):
        return client.post("/register", data={**details, "email": f"new{number}@example.com", "csrf_token": token})

    assert_indistinguishable(timed_pairs(app, with_account, without_account))


def test_registration_through_the_api_takes_as_long_for_an_address_with_an_account(app, unthrottled):
    make_patient(email="taken@example.com")
    db.session.commit()
    details = {"full_name": "Nora New", "date_of_birth": "1991-02-03", "phone": "07700 900111",
               "password": "a long enough passphrase"}

    def with_account(client, token, number):
        return client.post("/api/patients", json={**details, "email": "taken@example.com"},
                           headers={"X-CSRFToken": token})

    def without_account(client, token, number):
        return client.post("/api/patients", json={**details, "email": f"new{number}@example.com"},
                           headers={"X-CSRFToken": token})

    assert_indistinguishable(timed_pairs(app, with_account, without_account))
