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
from itertools import zip_longest

from .client import HttpClient, Patient, parse_instant
from .load import log
from .settings import HORIZON_DAYS, LOAD_PASSWORD, RUSH_SLOTS

FreeSlot = tuple[int, str, str, int | None]  # (doctor id, start_at, end_at as the API writes them, type id or None)
BookingJob = tuple[Patient, int, str, int | None]  # (patient, doctor id, start_at, type id or None)


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
                       plan: dict) -> tuple[list[BookingJob], list[BookingJob]]:
    """Every free slot of every doctor over the bookable window, via the API, as booking jobs:
    the single-type doctors' (their default type) and the mixed-types doctors' (each type's).

    The rushes of ``plan`` get their slots set aside first (written into each rush). A mixed
    doctor's types list overlapping times; only times that do not overlap, buffers included, are
    kept, so that every job books a slot still free.
    """
    free = await fetch_free_slots(client, patients[0], doctor_ids, today)
    mixed_types = plan.get("mixed_types", [])
    mixed = await fetch_free_slots(client, patients[0], plan.get("mixed_doctor_ids", []), today,
                                   [type_id for type_id, _ in mixed_types])
    # Leave out slots that could slip inside the minimum notice during the run.
    earliest = datetime.now(timezone.utc) + timedelta(minutes=plan["min_notice_minutes"] + 30)
    free = [slot for slot in free if parse_instant(slot[1]) >= earliest]
    mixed = [slot for slot in mixed if parse_instant(slot[1]) >= earliest]
    free = reserve_rush_slots(free, plan.get("rushes", []), doctor_ids)
    shuffle = random.Random(plan["seed"]).shuffle
    shuffle(free)
    shuffle(mixed)
    mixed = without_overlaps(mixed, dict(mixed_types))
    shuffle(mixed)
    # One hand-out for both, so a patient never holds overlapping slots across the two.
    jobs = assign_to_patients([slot for pair in zip_longest(free, mixed) for slot in pair if slot], patients)
    single, of_types = [job for job in jobs if job[3] is None], [job for job in jobs if job[3] is not None]
    log(f"{len(free)} free slots fetched via GET /api/doctors/{{id}}/slots; {len(single)} booking jobs, "
        f"each a different slot" + (f"; mixed types: {len(mixed)} free slots that do not overlap, "
                                    f"{len(of_types)} booking jobs" if mixed_types else ""))
    return single, of_types


async def fetch_free_slots(client: HttpClient, patient: Patient, doctor_ids: list[int],
                           today: date, type_ids: list[int] | None = None) -> list[FreeSlot]:
    """The free slots of these doctors: of their default type, or of each of ``type_ids``."""
    free: list[FreeSlot] = []
    last = today + timedelta(days=HORIZON_DAYS + 1)
    for doctor_id in doctor_ids:
        for type_id in type_ids or [None]:
            day = today
            while day <= last:
                to = min(last, day + timedelta(days=61))
                of_type = f"&type_id={type_id}" if type_id is not None else ""
                response = await client.request(client.build(
                    "GET", f"/api/doctors/{doctor_id}/slots?from={day}&to={to}{of_type}",
                    {"Cookie": patient.cookie_header()}))
                if response.status != 200:
                    raise RuntimeError(f"slots of doctor {doctor_id}: {response.status} {response.body[:300]!r}")
                free.extend((doctor_id, s["start_at"], s["end_at"], type_id) for s in response.json()["slots"])
                day = to + timedelta(days=1)
    return free


def without_overlaps(free: list[FreeSlot], buffers: dict[int, int]) -> list[FreeSlot]:
    """The slots, in the order given, that overlap no slot kept before them of the same doctor,
    each to the end of its type's buffer (as the database's guard reads them)."""
    kept: list[FreeSlot] = []
    held: dict[tuple[int, date], list[tuple[datetime, datetime]]] = {}  # (doctor, day) -> kept
    for slot in free:
        doctor_id, start_text, end_text, type_id = slot
        start = parse_instant(start_text)
        end = parse_instant(end_text) + timedelta(minutes=buffers.get(type_id, 0))
        ranges = held.setdefault((doctor_id, start.date()), [])
        if all(not (s < end and start < e) for s, e in ranges):
            ranges.append((start, end))
            kept.append(slot)
    return kept


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
        candidates = sorted((start, end) for d, start, end, _type in free
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
    for doctor_id, start_text, end_text, type_id in free:
        start, end = parse_instant(start_text), parse_instant(end_text)
        for step in range(len(patients)):
            index = (turn + step) % len(patients)
            held = taken.setdefault((index, start.date()), [])
            if all(not (s < end and start < e) for s, e in held):
                held.append((start, end))
                jobs.append((patients[index], doctor_id, start_text, type_id))
                turn = index + 1
                break
    return jobs
