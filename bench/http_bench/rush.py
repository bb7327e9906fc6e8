"""The booking rush: many signed-in patients at once after a few slots of one doctor, on one
app server or two; then what the database holds for those slots, and whether that is right.

``booking_rush`` runs in the load generator's process; ``verify_rush`` in the main process,
after the load (it imports psycopg only when called).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from .client import HttpClient, parse_instant
from .load import percentile, send
from .settings import RUSH_CLIENTS, RUSH_SLOTS


async def booking_rush(rush: dict, sessions: list[tuple[str, str]]) -> dict:
    """RUSH_CLIENTS patients at once, each after one of the rush's slots; on 409, the next one still free.

    Every client is a different signed-in patient (``sessions``: Cookie header and CSRF token,
    made in advance by seeding.mint_sessions). All requests are built first and released
    together. A client whose slot was taken reads the fresh slots from the 409 answer and
    tries a rush slot that is still listed, until it has one or none is left.
    """
    ports, slots, doctor_id = rush["ports"], rush["slots"], rush["doctor_id"]
    clients = {port: HttpClient("127.0.0.1", port) for port in ports}
    statuses: Counter = Counter()
    codes: Counter = Counter()
    latencies: list[float] = []
    won: list[str] = []
    start = asyncio.Event()

    async def client(index: int, cookie: str, token: str) -> None:
        http = clients[ports[index % len(ports)]]
        wanted = slots[index % len(slots)]
        tried: set[str] = set()
        await start.wait()
        while wanted is not None:
            tried.add(wanted)
            body = json.dumps({"doctor_id": doctor_id, "start_at": wanted, "reason": "Rush"}).encode()
            raw = http.build("POST", "/api/appointments", {
                "Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": token}, body)
            t0 = time.perf_counter()
            status, failure, response = await send(http, raw, "POST")
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[status if status is not None else failure] += 1
            if status == 201:
                won.append(wanted)
                return
            if status != 409 or response is None:
                return
            error = response.json().get("error", {})
            codes[error.get("code")] += 1
            still_free = {slot["start_at"] for slot in error.get("slots") or ()}
            wanted = next((s for s in slots if s in still_free and s not in tried), None)

    tasks = [asyncio.create_task(client(i, cookie, token))
             for i, (cookie, token) in enumerate(sessions[:RUSH_CLIENTS])]
    await asyncio.sleep(0.2)  # every client is waiting at the start line
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for http in clients.values():
        http.close()
    lat = sorted(latencies)
    return {"name": rush["name"], "ports": ports, "doctor_id": doctor_id, "slots": slots,
            "clients": len(tasks), "requests": len(lat), "elapsed": elapsed,
            "statuses": {str(k): v for k, v in statuses.items()}, "conflict_codes": dict(codes),
            "won": won, "p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
            "max": lat[-1] if lat else None}


def verify_rush(database_url: str, rush: dict) -> dict:
    """What the database holds for the rush's slots: booked appointments per slot, and any overlap."""
    import psycopg

    starts = [parse_instant(start) for start in rush["slots"]]
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        per_slot = connection.execute(
            "SELECT start_at, count(*) FROM appointments WHERE doctor_id = %s AND status = 'booked' "
            "AND start_at = ANY(%s) GROUP BY start_at", (rush["doctor_id"], starts)).fetchall()
        overlaps = connection.execute(
            "SELECT count(*) FROM appointments a JOIN appointments b ON a.doctor_id = b.doctor_id AND a.id < b.id "
            "AND a.status = 'booked' AND b.status = 'booked' "
            "AND tstzrange(a.start_at, a.end_at, '[)') && tstzrange(b.start_at, b.end_at, '[)') "
            "WHERE a.doctor_id = %s", (rush["doctor_id"],)).fetchone()[0]
    booked = sum(count for _, count in per_slot)
    return {"booked_slots": len(per_slot), "booked_rows": booked,
            "max_per_slot": max((count for _, count in per_slot), default=0), "overlaps": overlaps}


def server_errors(statuses: dict[str, int]) -> int:
    """5xx answers among a rush's statuses (keys are status codes or failure kinds, as text)."""
    return sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)


def rush_ok(rush: dict, check: dict) -> bool:
    statuses = rush["statuses"]
    return (statuses.get("201", 0) == RUSH_SLOTS == check["booked_rows"] == check["booked_slots"]
            and check["max_per_slot"] == 1 and check["overlaps"] == 0 and server_errors(statuses) == 0
            and sorted(rush["won"]) == sorted(rush["slots"]))
