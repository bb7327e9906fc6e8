"""What the load generator does before it measures anything: sign the load-test patients in,
fetch every free slot, set the rush's slots aside and hand the rest out as booking jobs.

Standard library only: it runs in the load generator's process, which never imports the app.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import date, datetime, timedelta, timezone

from .client import HttpClient, Patient, parse_instant
from .load import log
from .settings import HORIZON_DAYS, LOAD_PASSWORD, RUSH_SLOTS

FreeSlot = tuple[int, str, str]  # (doctor id, start_at, end_at) as the API writes them
BookingJob = tuple[Patient, int, str]  # (patient, doctor id, start_at)


async def sign_in_patients(client: HttpClient, patients: list[Patient], parallel: int) -> None:
    """Sign every load-test patient in through the API (argon2 makes each login slow on purpose)."""
    gate = asyncio.Semaphore(max(1, parallel))
    started = time.perf_counter()

    async def sign_in(patient: Patient) -> None:
        async with gate:
            await _sign_in(client, patient)

    await asyncio.gather(*(sign_in(p) for p in patients))
    log(f"{len(patients)} load-test patients signed in via POST /api/session "
        f"in {time.perf_counter() - started:.1f} s")


async def _sign_in(client: HttpClient, patient: Patient) -> None:
    for _ in range(5):
        token = await client.request(client.build("GET", "/api/csrf-token"))
        patient.cookies.update(token.cookies())
        body = json.dumps({"email": patient.email, "password": LOAD_PASSWORD}).encode()
        response = await client.request(client.build("POST", "/api/session", {
            "Content-Type": "application/json", "Cookie": patient.cookie_header(),
            "X-CSRFToken": token.json()["csrf_token"]}, body), "POST")
        if response.status == 200:
            patient.cookies.update(response.cookies())
            patient.csrf_token = response.json()["csrf_token"]
            return
        if response.status == 429:
            # The sign-in throttle (per address and gunicorn worker); wait as told.
            wait = min(65.0, float(response.header("retry-after") or 5))
            log(f"sign-in throttled (429), waiting {wait:.0f} s; fewer --patients avoids this")
            await asyncio.sleep(wait)
            continue
        await asyncio.sleep(0.2)
    raise RuntimeError(f"login of {patient.email} failed: {response.status} {response.body[:300]!r}")


async def booking_jobs(client: HttpClient, patients: list[Patient], doctor_ids: list[int], today: date,
                       plan: dict) -> list[BookingJob]:
    """Every free slot of every doctor over the bookable window, via the API, as booking jobs.

    The rushes of ``plan`` get their slots set aside first (written into each rush).
    """
    free = await fetch_free_slots(client, patients[0], doctor_ids, today)
    # Leave out slots that could slip inside the minimum notice during the run.
    earliest = datetime.now(timezone.utc) + timedelta(minutes=plan["min_notice_minutes"] + 30)
    free = [slot for slot in free if parse_instant(slot[1]) >= earliest]
    free = reserve_rush_slots(free, plan.get("rushes", []), doctor_ids)
    random.Random(plan["seed"]).shuffle(free)
    jobs = assign_to_patients(free, patients)
    log(f"{len(free)} free slots fetched via GET /api/doctors/{{id}}/slots; "
        f"{len(jobs)} booking jobs, each a different slot")
    return jobs


async def fetch_free_slots(client: HttpClient, patient: Patient, doctor_ids: list[int],
                           today: date) -> list[FreeSlot]:
    free: list[FreeSlot] = []
    last = today + timedelta(days=HORIZON_DAYS + 1)
    for doctor_id in doctor_ids:
        day = today
        while day <= last:
            to = min(last, day + timedelta(days=61))
            response = await client.request(client.build(
                "GET", f"/api/doctors/{doctor_id}/slots?from={day}&to={to}",
                {"Cookie": patient.cookie_header()}))
            if response.status != 200:
                raise RuntimeError(f"slots of doctor {doctor_id}: {response.status} {response.body[:300]!r}")
            free.extend((doctor_id, s["start_at"], s["end_at"]) for s in response.json()["slots"])
            day = to + timedelta(days=1)
    return free


def reserve_rush_slots(free: list[FreeSlot], rushes: list[dict], doctor_ids: list[int]) -> list[FreeSlot]:
    """Set aside RUSH_SLOTS free slots of one doctor per booking rush; the other scenarios never book them.

    Each rush gets its own doctor and days after the previous rush's, so a patient who wins
    in one rush is never busy at the times of the next (that would be a different conflict).
    """
    if not rushes:
        return free
    taken: set[tuple[int, str]] = set()
    not_before = datetime.now(timezone.utc) + timedelta(days=2)
    for index, rush in enumerate(rushes):
        doctor_id = doctor_ids[index % len(doctor_ids)]
        candidates = sorted((start, end) for d, start, end in free
                            if d == doctor_id and parse_instant(start) >= not_before)
        chosen = candidates[:RUSH_SLOTS]
        if len(chosen) < RUSH_SLOTS:
            raise RuntimeError(f"doctor {doctor_id} has only {len(chosen)} free slots for the rush")
        rush["doctor_id"], rush["slots"] = doctor_id, [start for start, _ in chosen]
        taken.update((doctor_id, start) for start, _ in chosen)
        # The next rush starts the day after this one's last slot.
        not_before = parse_instant(chosen[-1][1]).replace(hour=0, minute=0, second=0) + timedelta(days=1)
    return [slot for slot in free if (slot[0], slot[1]) not in taken]


def assign_to_patients(free: list[FreeSlot], patients: list[Patient]) -> list[BookingJob]:
    """Hand the slots out to patients so no patient ever holds two overlapping ones (the database
    refuses that), round robin so every patient keeps booking."""
    jobs: list[BookingJob] = []
    taken: dict[tuple[int, date], list[tuple[datetime, datetime]]] = {}  # (patient, day) -> held
    turn = 0
    for doctor_id, start_text, end_text in free:
        start, end = parse_instant(start_text), parse_instant(end_text)
        for step in range(len(patients)):
            index = (turn + step) % len(patients)
            held = taken.setdefault((index, start.date()), [])
            if all(not (s < end and start < e) for s, e in held):
                held.append((start, end))
                jobs.append((patients[index], doctor_id, start_text))
                turn = index + 1
                break
    return jobs
