"""End-to-end HTTP benchmark: the real app under gunicorn, on PostgreSQL, with a seeded clinic.

    .venv/bin/python bench/http_bench.py [--duration 10] [--concurrency 16] [--workers N]
                                         [--rate 100] [--database-url postgresql://...]

1. creates a throw-away PostgreSQL database, migrates it and seeds a clinic
   (20 doctors, 90 days ahead with ~60% of slots booked, history, 2000 patients);
2. starts ``gunicorn -w N wsgi:app`` (sync workers) with production settings;
3. drives it from a separate load-generator process (a small asyncio HTTP/1.1
   client in this file) closed-loop at a fixed concurrency and open-loop at a
   fixed rate;
4. prints one table, then the in-process slot engine figure
   (bench/slot_engine.py); stops gunicorn and drops the database.

See bench/README.md for what the figures mean and the targets.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TIMEZONE = "Europe/London"
HORIZON_DAYS = 90
MIN_NOTICE_MINUTES = 120
LOAD_PASSWORD = "bench-load-password-2026"  # the one password of every seeded account
# The ceiling: the app's cheapest route under the same server. /healthz (public, no session, no
# database) when the app has it; otherwise GET /api/csrf-token (public, tiny JSON, but it signs and
# sets a session cookie on every answer), which was the stand-in before /healthz existed.
TRIVIAL_CANDIDATES = ("/healthz", "/api/csrf-token")
SLOT_DAYS = 14
# The booking rush: this many patients at once after this many slots of one doctor.
RUSH_CLIENTS = 200
RUSH_SLOTS = 20

# The headline figures and their targets (also in bench/README.md).
TARGET_SLOTS_RATIO = 0.40
TARGET_SLOTS_P99_MS = 50.0
TARGET_BOOKING_RATIO = 0.25
TARGET_ENGINE_MS = 100.0


# =============================================================================================
# Load generator: stdlib only, runs in its own process (never imports the app).
# =============================================================================================


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookies(self) -> dict[str, str]:
        """name -> value of every Set-Cookie; attributes (Secure, HttpOnly, ...) are ignored on purpose."""
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                jar[name.strip()] = val.strip()
        return jar

    def json(self):
        return json.loads(self.body)


class _Conn:
    __slots__ = ("reader", "writer", "used")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.used = reader, writer, 0

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket
            pass


class HttpClient:
    """HTTP/1.1 over raw asyncio streams: keep-alive when the server allows it, else a new connection.

    gunicorn's sync workers answer every request with ``Connection: close``, so under
    them each request costs a TCP connect, as it does behind a proxy in production.
    Cookies are handled by the caller (see :class:`Patient`), so the ``Secure``
    flag of production cookies does not stop them being sent over plain http.
    """

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Conn] = []
        self.connects = 0

    async def _connect(self) -> _Conn:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1
        return _Conn(reader, writer)

    def build(self, method: str, path: str, headers: dict[str, str] | None = None,
              body: bytes | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "User-Agent: carebook-http-bench", "Accept: application/json"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
            lines.append(f"Content-Length: {len(body or b'')}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    async def request(self, raw: bytes, method: str = "GET") -> Response:
        return await asyncio.wait_for(self._request(raw, method), self.timeout)

    async def _request(self, raw: bytes, method: str) -> Response:
        for attempt in (0, 1):
            conn = self._idle.pop() if self._idle else await self._connect()
            reused = conn.used > 0
            try:
                conn.writer.write(raw)
                await conn.writer.drain()
                response, keep = await self._read(conn, method)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                conn.close()
                if reused and attempt == 0:
                    continue  # a kept-alive connection the server had closed: retry once, fresh
                raise HttpError(f"connection failed: {error!r}") from None
            except BaseException:
                conn.close()
                raise
            conn.used += 1
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return response
        raise HttpError("unreachable")

    async def _read(self, conn: _Conn, method: str) -> tuple[Response, bool]:
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
        hmap = {k: v for k, v in headers if k != "set-cookie"}
        keep = version == "HTTP/1.1" and "close" not in hmap.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in hmap:
            body = await conn.reader.readexactly(int(hmap["content-length"]))
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await conn.reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    await _drain_trailers(conn.reader)
                    break
                parts.append(await conn.reader.readexactly(size))
                await conn.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await conn.reader.read()
            keep = False
        return Response(status, headers, body), keep

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


async def _drain_trailers(reader: asyncio.StreamReader) -> None:
    while (await reader.readuntil(b"\r\n")) != b"\r\n":
        pass


@dataclass
class Patient:
    email: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


@dataclass
class Stats:
    name: str
    mode: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # transport errors and timeouts, by kind
    elapsed: float = 0.0
    gen_cpu: float = 0.0  # load-generator CPU seconds spent in this scenario
    cpu: dict | None = None  # CPU seconds by kind of process (server, db, other), from /proc
    ok_statuses: tuple[int, ...] = (200,)
    note: str = ""

    def record(self, status: int | None, latency_s: float, failure: str | None = None) -> None:
        self.latencies_ms.append(latency_s * 1000.0)
        if status is None:
            self.failures[failure or "error"] += 1
        else:
            self.statuses[status] += 1

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        n = len(lat)

        def pct(p: float) -> float | None:
            return lat[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] if n else None

        server_errors = sum(c for s, c in self.statuses.items() if s >= 500)
        other = sum(self.failures.values()) + sum(
            c for s, c in self.statuses.items() if s < 500 and s not in self.ok_statuses)
        return {
            "name": self.name, "mode": self.mode, "requests": n,
            "rps": n / self.elapsed if self.elapsed > 0 else 0.0,
            "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": lat[-1] if lat else None,
            "server_errors": server_errors, "other_errors": other,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": dict(self.failures),
            "gen_cpu_share": self.gen_cpu / self.elapsed if self.elapsed > 0 else 0.0,
            # Server CPU per request: gunicorn's processes plus this database's PostgreSQL backends.
            # Unlike req/s it hardly depends on what else the machine is doing.
            "server_cpu_ms": (1000 * (self.cpu["server"] + self.cpu["db"]) / n) if self.cpu and n else None,
            "other_cpu_share": (self.cpu["other"] / self.elapsed / (os.cpu_count() or 1))
            if self.cpu and self.elapsed > 0 else None,
            "note": self.note,
        }


class CpuMeter:
    """CPU time of every process on the machine, by kind: the gunicorn master and its workers
    ("server"), the PostgreSQL backends of the benchmark database ("db", recognised by the
    database name in their process title), this load generator ("gen") and everything else
    ("other": e.g. test suites running at the same time). Linux /proc only; elsewhere a no-op."""

    def __init__(self, server_pid: int | None, database_name: str | None):
        self.server_pid, self.database_name = server_pid, database_name
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.me = os.getpid()
        self.available = os.path.exists("/proc/self/stat")

    def snapshot(self) -> dict[int, tuple[str, int]] | None:
        if not self.available:
            return None
        found: dict[int, tuple[str, int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    rest = stat.read().rsplit(b")", 1)[1].split()
                ppid, ticks = int(rest[1]), int(rest[11]) + int(rest[12])
                kind = "other"
                if pid == self.me:
                    kind = "gen"
                elif pid == self.server_pid or ppid == self.server_pid:
                    kind = "server"
                elif self.database_name:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        if self.database_name.encode() in cmdline.read():
                            kind = "db"
            except (OSError, IndexError, ValueError):
                continue
            found[pid] = (kind, ticks)
        return found

    def delta(self, before, after) -> dict[str, float] | None:
        if before is None or after is None:
            return None
        spent = {"server": 0.0, "db": 0.0, "gen": 0.0, "other": 0.0}
        for pid, (kind, ticks) in after.items():
            previous = before.get(pid)
            start = previous[1] if previous and previous[0] == kind else 0
            spent[kind] += max(0, ticks - start) / self.tick
        return spent


async def _send(client: HttpClient, raw: bytes, method: str) -> tuple[int | None, str | None, Response | None]:
    try:
        response = await client.request(raw, method)
    except asyncio.TimeoutError:
        return None, "timeout", None
    except (HttpError, OSError) as error:
        return None, type(error).__name__, None
    return response.status, None, response


async def closed_loop(client: HttpClient, meter: CpuMeter, stats: Stats, next_request, concurrency: int,
                      duration: float, on_response=None) -> Stats:
    """``concurrency`` users, each sending its next request as soon as the last one is answered."""
    cpu0, proc0 = meter.snapshot(), time.process_time()
    started = time.perf_counter()
    deadline = started + duration

    async def user() -> None:
        while time.perf_counter() < deadline:
            item = next_request()
            if item is None:
                return
            raw, method, context = item
            t0 = time.perf_counter()
            status, failure, response = await _send(client, raw, method)
            stats.record(status, time.perf_counter() - t0, failure)
            if on_response is not None and response is not None:
                on_response(context, response)

    await asyncio.gather(*(user() for _ in range(concurrency)))
    _finish(stats, meter, started, cpu0, proc0)
    return stats


async def open_loop(client: HttpClient, meter: CpuMeter, stats: Stats, next_request, rate: float,
                    duration: float, max_in_flight: int = 1000, on_response=None) -> Stats:
    """Requests sent on a fixed schedule whatever the server does (no coordinated omission):
    latency counts from the moment a request was due, so queueing anywhere is included."""
    cpu0, proc0 = meter.snapshot(), time.process_time()
    gate = asyncio.Semaphore(max_in_flight)
    started = time.perf_counter() + 0.01
    total = int(rate * duration)
    # A server that cannot keep up would make the queue (and this run) grow without end:
    # once more than a second's worth of requests is waiting, stop sending and say so.
    backlog_limit = max(10, int(rate))
    tasks = []
    done = 0

    async def one(raw: bytes, method: str, context, due: float) -> None:
        nonlocal done
        async with gate:
            status, failure, response = await _send(client, raw, method)
        stats.record(status, time.perf_counter() - due, failure)
        done += 1
        if on_response is not None and response is not None:
            on_response(context, response)

    for i in range(total):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) - done > backlog_limit:
            stats.note = (f"SATURATED: the server fell behind {rate:g}/s; stopped sending after "
                          f"{time.perf_counter() - started:.1f} s with {len(tasks) - done} requests waiting")
            break
        item = next_request()
        if item is None:
            break
        raw, method, context = item
        tasks.append(asyncio.create_task(one(raw, method, context, due)))
    await asyncio.gather(*tasks)
    _finish(stats, meter, started, cpu0, proc0)
    return stats


def _finish(stats: Stats, meter: CpuMeter, started: float, cpu0, proc0: float) -> None:
    stats.elapsed = time.perf_counter() - started
    stats.gen_cpu = time.process_time() - proc0
    stats.cpu = meter.delta(cpu0, meter.snapshot())


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class LoadPlan:
    """What the load generator does, built from the plan the parent process sends."""

    def __init__(self, plan: dict):
        self.plan = plan
        self.client = HttpClient("127.0.0.1", plan["port"])
        self.meter = CpuMeter(plan.get("server_pid"), plan.get("database_name"))
        self.patients = [Patient(email) for email in plan["patient_emails"]]
        self.doctor_ids: list[int] = plan["doctor_ids"]
        self.today = date.fromisoformat(plan["today"])
        self.jobs: list[tuple[Patient, int, str]] = []
        self.job_index = 0
        self.counter = 0
        self.log_lines: list[str] = []

    def log(self, text: str) -> None:
        print(f"  [load] {text}", flush=True)

    # -- preparation (not measured) --------------------------------------------------------

    async def login_all(self) -> None:
        """Sign every load-test patient in through the API (argon2 makes each login slow on purpose)."""
        gate = asyncio.Semaphore(max(1, self.plan["workers"]))
        started = time.perf_counter()

        async def login(patient: Patient) -> None:
            async with gate:
                for _ in range(5):
                    token = await self.client.request(self.client.build("GET", "/api/csrf-token"))
                    patient.cookies.update(token.cookies())
                    body = json.dumps({"email": patient.email, "password": LOAD_PASSWORD}).encode()
                    response = await self.client.request(self.client.build("POST", "/api/session", {
                        "Content-Type": "application/json", "Cookie": patient.cookie_header(),
                        "X-CSRFToken": token.json()["csrf_token"]}, body), "POST")
                    if response.status == 200:
                        patient.cookies.update(response.cookies())
                        patient.csrf_token = response.json()["csrf_token"]
                        return
                    if response.status == 429:
                        # The sign-in throttle (per address and gunicorn worker); wait as told.
                        wait = min(65.0, float(response.header("retry-after") or 5))
                        self.log(f"sign-in throttled (429), waiting {wait:.0f} s; fewer --patients avoids this")
                        await asyncio.sleep(wait)
                        continue
                    await asyncio.sleep(0.2)
                raise RuntimeError(f"login of {patient.email} failed: {response.status} {response.body[:300]!r}")

        await asyncio.gather(*(login(p) for p in self.patients))
        self.log(f"{len(self.patients)} load-test patients signed in via POST /api/session "
                 f"in {time.perf_counter() - started:.1f} s")

    async def fetch_free_slots(self) -> None:
        """Every free slot of every doctor over the bookable window, via the API, as booking jobs."""
        patient = self.patients[0]
        free: list[tuple[int, str, str]] = []
        first = self.today
        last = self.today + timedelta(days=HORIZON_DAYS + 1)
        for doctor_id in self.doctor_ids:
            day = first
            while day <= last:
                to = min(last, day + timedelta(days=61))
                response = await self.client.request(self.client.build(
                    "GET", f"/api/doctors/{doctor_id}/slots?from={day}&to={to}",
                    {"Cookie": patient.cookie_header()}))
                if response.status != 200:
                    raise RuntimeError(f"slots of doctor {doctor_id}: {response.status} {response.body[:300]!r}")
                free.extend((doctor_id, s["start_at"], s["end_at"]) for s in response.json()["slots"])
                day = to + timedelta(days=1)
        # Leave out slots that could slip inside the minimum notice during the run.
        earliest = datetime.now(timezone.utc) + timedelta(minutes=self.plan["min_notice_minutes"] + 30)
        free = [slot for slot in free if _parse_instant(slot[1]) >= earliest]
        free = self.reserve_rush_slots(free)
        random.Random(self.plan["seed"]).shuffle(free)
        # Hand the slots out to patients so no patient ever holds two overlapping ones
        # (the database refuses that), round robin so every patient keeps booking.
        taken: dict[tuple[int, date], list[tuple[datetime, datetime]]] = {}  # (patient, day) -> held
        turn = 0
        for doctor_id, start_text, end_text in free:
            start, end = _parse_instant(start_text), _parse_instant(end_text)
            for step in range(len(self.patients)):
                index = (turn + step) % len(self.patients)
                held = taken.setdefault((index, start.date()), [])
                if all(not (s < end and start < e) for s, e in held):
                    held.append((start, end))
                    self.jobs.append((self.patients[index], doctor_id, start_text))
                    turn = index + 1
                    break
        self.log(f"{len(free)} free slots fetched via GET /api/doctors/{{id}}/slots; "
                 f"{len(self.jobs)} booking jobs, each a different slot")

    def reserve_rush_slots(self, free: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
        """Set aside RUSH_SLOTS free slots of one doctor per booking rush; the other scenarios never book them.

        Each rush gets its own doctor and days after the previous rush's, so a patient who wins
        in one rush is never busy at the times of the next (that would be a different conflict).
        """
        rushes = self.plan.get("rushes", [])
        if not rushes:
            return free
        taken: set[tuple[int, str]] = set()
        not_before = datetime.now(timezone.utc) + timedelta(days=2)
        for index, rush in enumerate(rushes):
            doctor_id = self.doctor_ids[index % len(self.doctor_ids)]
            candidates = sorted((start, end) for d, start, end in free
                                if d == doctor_id and _parse_instant(start) >= not_before)
            chosen = candidates[:RUSH_SLOTS]
            if len(chosen) < RUSH_SLOTS:
                raise RuntimeError(f"doctor {doctor_id} has only {len(chosen)} free slots for the rush")
            rush["doctor_id"], rush["slots"] = doctor_id, [start for start, _ in chosen]
            taken.update((doctor_id, start) for start, _ in chosen)
            # The next rush starts the day after this one's last slot.
            not_before = _parse_instant(chosen[-1][1]).replace(hour=0, minute=0, second=0) + timedelta(days=1)
        return [slot for slot in free if (slot[0], slot[1]) not in taken]

    async def booking_rush(self, rush: dict) -> dict:
        """RUSH_CLIENTS patients at once, each after one of the rush's slots; on 409, the next one still free.

        Every client is a different signed-in patient (sessions made in advance, see
        mint_sessions). All requests are built first and released together. A client whose
        slot was taken reads the fresh slots from the 409 answer and tries a rush slot that
        is still listed, until it has one or none is left.
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
                status, failure, response = await _send(http, raw, "POST")
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
                 for i, (cookie, token) in enumerate(self.plan["rush_sessions"][:RUSH_CLIENTS])]
        await asyncio.sleep(0.2)  # every client is waiting at the start line
        started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        for http in clients.values():
            http.close()
        lat = sorted(latencies)

        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))] if lat else None

        return {"name": rush["name"], "ports": ports, "doctor_id": doctor_id, "slots": slots,
                "clients": len(tasks), "requests": len(lat), "elapsed": elapsed,
                "statuses": {str(k): v for k, v in statuses.items()}, "conflict_codes": dict(codes),
                "won": won, "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": lat[-1] if lat else None}

    # -- request factories -------------------------------------------------------------------

    def trivial(self):
        # Anonymous: no cookie (for /api/csrf-token that means each answer sets a new one).
        raw = self.client.build("GET", self.plan["trivial_path"])
        return lambda: (raw, "GET", None)

    def _next_patient(self) -> Patient:
        self.counter += 1
        return self.patients[self.counter % len(self.patients)]

    def slots(self):
        start, end = self.today + timedelta(days=1), self.today + timedelta(days=SLOT_DAYS)

        def make():
            patient = self._next_patient()
            doctor_id = self.doctor_ids[self.counter % len(self.doctor_ids)]
            return (self.client.build("GET", f"/api/doctors/{doctor_id}/slots?from={start}&to={end}",
                                      {"Cookie": patient.cookie_header()}), "GET", None)
        return make

    def signed_in(self):
        # The floor of every signed-in request: the session is loaded (a query), little else is done.
        def make():
            patient = self._next_patient()
            return self.client.build("GET", "/api/csrf-token", {"Cookie": patient.cookie_header()}), "GET", None
        return make

    def doctors(self):
        def make():
            patient = self._next_patient()
            return self.client.build("GET", "/api/doctors", {"Cookie": patient.cookie_header()}), "GET", None
        return make

    def booking(self):
        def make():
            if self.job_index >= len(self.jobs):
                return None
            patient, doctor_id, start_at = self.jobs[self.job_index]
            self.job_index += 1
            body = json.dumps({"doctor_id": doctor_id, "start_at": start_at, "reason": "Load test"}).encode()
            return (self.client.build("POST", "/api/appointments", {
                "Content-Type": "application/json", "Cookie": patient.cookie_header(),
                "X-CSRFToken": patient.csrf_token}, body), "POST", patient)
        return make

    @staticmethod
    def keep_cookies(patient: Patient | None, response: Response) -> None:
        if patient is not None and any(k == "set-cookie" for k, _ in response.headers):
            patient.cookies.update(response.cookies())

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> dict:
        plan = self.plan
        await self.login_all()
        await self.fetch_free_slots()
        if not self.jobs:
            raise RuntimeError("no free slots to book")
        factories = {"trivial": self.trivial, "signed-in": self.signed_in, "slots": self.slots,
                     "doctors": self.doctors, "booking": self.booking}
        ok = {"booking": (201,)}
        labels = {"trivial": f"trivial  GET {plan['trivial_path']}",
                  "signed-in": "signed-in GET /api/csrf-token (session only)",
                  "slots": f"slots    GET /api/doctors/{{id}}/slots ({SLOT_DAYS} d)",
                  "doctors": "doctors  GET /api/doctors",
                  "booking": "booking  POST /api/appointments"}

        warm = Stats("warm-up", "warm-up")
        for name in plan["scenarios"]:
            await closed_loop(self.client, self.meter, warm, factories[name](), plan["workers"], plan["warmup"],
                              self.keep_cookies)
        self.log(f"warm-up: {len(warm.latencies_ms)} requests, statuses {dict(warm.statuses)}")

        results = []
        runs = [("closed", name) for name in plan["scenarios"]]
        runs += [("open", name) for name in plan["open_scenarios"]]
        # Bookings change the calendars, so every read-only scenario runs before any booking one.
        runs.sort(key=lambda run: run[1] == "booking")
        for mode, name in runs:
            stats = Stats(labels[name], mode, ok_statuses=ok.get(name, (200,)))
            if mode == "closed":
                stats.mode = f"closed c={plan['concurrency']}"
                await closed_loop(self.client, self.meter, stats, factories[name](), plan["concurrency"],
                                  plan["duration"], self.keep_cookies)
            else:
                stats.mode = f"open {plan['rate']:g}/s"
                await open_loop(self.client, self.meter, stats, factories[name](), plan["rate"],
                                plan["duration"], on_response=self.keep_cookies)
            notes = [stats.note] if stats.note else []
            if name == "booking":
                notes.append("statuses " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())))
                if self.job_index >= len(self.jobs):
                    notes.append("ran out of free slots")
            stats.note = "; ".join(notes)
            summary = stats.summary()
            summary["key"] = f"{mode}:{name}"
            results.append(summary)
            self.log(f"{summary['name'].split()[0]:<8} {stats.mode:<12} {summary['requests']:>6} requests, "
                     f"{summary['rps']:.0f} req/s, p99 {summary['p99'] or 0:.1f} ms, "
                     f"statuses {summary['statuses']}"
                     + (f", failures {summary['failures']}" if summary["failures"] else ""))
        rush_results = []
        for rush in plan.get("rushes", []):
            outcome = await self.booking_rush(rush)
            rush_results.append(outcome)
            self.log(f"{rush['name']}: {outcome['clients']} clients, {outcome['requests']} requests, "
                     f"statuses {outcome['statuses']}, {len(outcome['won'])} slots won")
        self.client.close()
        return {"results": results, "rushes": rush_results, "connects": self.client.connects}


def loadgen_main(plan: dict, connection) -> None:
    """Entry point of the load-generator process: runs the plan, sends back the results."""
    try:
        connection.send(("ok", asyncio.run(LoadPlan(plan).run())))
    except BaseException:  # noqa: BLE001 - report whatever stopped the run to the parent
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


def run_load_generator(plan: dict, cleanup: ExitStack) -> dict:
    """Run :func:`loadgen_main` in a fresh interpreter (spawn: no copy of this process's app or data)."""
    context = get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=loadgen_main, args=(plan, sender), name="carebook-load-generator")
    process.start()
    sender.close()

    def stop() -> None:
        if process.is_alive():
            process.terminate()
        process.join(5)

    cleanup.callback(stop)
    try:
        outcome, payload = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the load generator died (exit code {process.exitcode})") from None
    process.join(10)
    if outcome != "ok":
        raise RuntimeError(f"the load generator failed:\n{payload}")
    return payload


# =============================================================================================
# Orchestration: database, seeding, gunicorn (this process imports the app).
# =============================================================================================


FIRST_NAMES = ["Amara", "Erik", "Priya", "Julien", "Sofia", "Kwame", "Hannah", "Mateo", "Aisha", "Liam",
               "Yuki", "Noah", "Fatima", "Oliver", "Chloe", "Ravi", "Ingrid", "Tom", "Leila", "Marcus"]
LAST_NAMES = ["Okafor", "Lindqvist", "Patel", "Moreau", "Rossi", "Mensah", "Schmidt", "Garcia", "Khan",
              "Murphy", "Tanaka", "Cohen", "Haddad", "Walker", "Dubois", "Iyer", "Berg", "Evans", "Nasser",
              "Brown"]
SPECIALTIES = ["General practice"] * 10 + ["Dermatology", "Paediatrics", "Cardiology", "Physiotherapy",
                                            "Gynaecology", "Psychiatry", "Orthopaedics", "ENT", "Ophthalmology",
                                            "Nutrition"]
APPOINTMENT_MINUTES = [15, 15, 15, 20, 30]


@dataclass
class SeedInfo:
    doctor_ids: list[int]
    patient_emails: list[str]
    today: date
    counts: dict
    rush_user_ids: list[int] = field(default_factory=list)
    rush_sessions: list[tuple[str, str]] = field(default_factory=list)  # (Cookie header, CSRF token)


def mint_sessions(app, user_ids: list[int]) -> list[tuple[str, str]]:
    """Sign these users in without their passwords: (Cookie header, CSRF token) for each.

    A rush needs hundreds of signed-in patients; signing each in through the API would cost
    an argon2 verification apiece and run into the sign-in throttle. So, in a request
    context of the benchmark's own app (same SECRET_KEY as the server), the portal's own
    sign_in() starts a real server-side session, and the app's session interface writes
    the cookie the browser would get.
    """
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    from carebook.extensions import db
    from models import User
    from portal.auth import sign_in

    minted = []
    for user_id in user_ids:
        with app.test_request_context("/", base_url="https://localhost"):
            g.pop("csrf_token", None)  # the app context (and its g) outlives each request context here
            sign_in(db.session.get(User, user_id))
            token = generate_csrf()
            response = app.response_class()
            app.session_interface.save_session(app, session, response)
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
            minted.append((cookie, token))
    db.session.commit()
    return minted


def seed_clinic(app, args, rng: random.Random) -> SeedInfo:
    """A realistic clinic, through the services for accounts and hours, bulk rows for the volume."""
    from sqlalchemy import func, insert, select

    from carebook import accounts, audit, slots
    from carebook.booking import BookingService
    from carebook.clock import utcnow
    from carebook.extensions import db
    from carebook.passwords import hash_password
    from models import Appointment, AppointmentStatus, Patient, Role, TimeOff, User, WeeklyHours
    from datetime import time as wall

    began = time.perf_counter()
    session = db.session
    actor = audit.Actor(None, "cli")
    tz = app.config["CLINIC"].timezone
    service = BookingService(session, tz, app.config["BOOKING_POLICY"])
    shared_hash = hash_password(LOAD_PASSWORD)  # argon2 once; every account shares it
    now = utcnow()
    today = now.astimezone(tz).date()
    history_start = today - timedelta(days=args.history_days)
    last_day = today + timedelta(days=HORIZON_DAYS)

    # -- doctors and their weekly hours (Mon-Fri with a lunch break) --------------------------
    doctors = []
    for i in range(args.doctors):
        doctor = accounts.create_doctor(
            session, actor, email=f"doctor{i + 1:02d}@bench.example", password=None,
            full_name=f"Dr {FIRST_NAMES[i % 20]} {LAST_NAMES[(i * 7) % 20]}",
            specialty=SPECIALTIES[i % len(SPECIALTIES)], appointment_minutes=APPOINTMENT_MINUTES[i % 5])
        doctor.user.password_hash = shared_hash
        if i % 4 == 3:
            ranges = [(wall(9), wall(13)), (wall(14), wall(18))]
        else:
            ranges = [(wall(8, 30), wall(12, 30)), (wall(13, 30), wall(17, 30))]
        for weekday in range(5):
            for start, end in ranges:
                session.add(WeeklyHours(doctor_id=doctor.id, valid_from=history_start - timedelta(days=7),
                                        weekday=weekday, start_time=start, end_time=end))
        doctors.append(doctor)
    session.flush()

    # -- time off: a holiday ahead, an afternoon off, a holiday in the past -------------------
    for doctor in doctors:
        holiday = today + timedelta(days=rng.randrange(7, HORIZON_DAYS - 7))
        start, end = service.utc_window(holiday, holiday + timedelta(days=rng.randint(1, 4)))
        session.add(TimeOff(doctor_id=doctor.id, start_at=start, end_at=end, reason="Annual leave"))
        afternoon = today + timedelta(days=rng.randrange(1, HORIZON_DAYS))
        session.add(TimeOff(doctor_id=doctor.id, reason="Training",
                            start_at=datetime.combine(afternoon, wall(13), tz).astimezone(timezone.utc),
                            end_at=datetime.combine(afternoon, wall(18), tz).astimezone(timezone.utc)))
        if args.history_days > 30:
            past = history_start + timedelta(days=rng.randrange(0, args.history_days - 10))
            start, end = service.utc_window(past, past + timedelta(days=rng.randint(2, 6)))
            session.add(TimeOff(doctor_id=doctor.id, start_at=start, end_at=end, reason="Annual leave"))
    session.flush()

    # -- patients: many, in bulk, one precomputed password hash --------------------------------
    user_rows = [dict(email=f"patient{i:05d}@bench.example", role=Role.PATIENT, password_hash=shared_hash,
                      full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", is_active=True,
                      created_at=now) for i in range(args.seed_patients)]
    user_ids = session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), user_rows).all()
    patient_rows = [dict(user_id=uid, date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(30000)),
                         phone=f"07700 9{rng.randrange(100000):05d}") for uid in user_ids]
    patient_ids = session.scalars(insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
                                  patient_rows).all()

    # Load-test patients, through the registration service; they start with no appointments.
    load_emails = []
    for i in range(args.patients):
        patient = accounts.register_patient(
            session, actor, email=f"load{i:03d}@bench.example", password=None, full_name=f"Load Tester {i}",
            date_of_birth=date(1985, 1, 1) + timedelta(days=i), phone="07700 900000")
        patient.user.password_hash = shared_hash
        load_emails.append(patient.user.email)
    session.flush()

    # Rush patients: many at once, so in bulk; they sign in through mint_sessions, not the API.
    rush_rows = [dict(email=f"rush{i:03d}@bench.example", role=Role.PATIENT, password_hash=shared_hash,
                      full_name=f"Rush Patient {i}", is_active=True, created_at=now)
                 for i in range(RUSH_CLIENTS)]
    rush_user_ids = session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rush_rows).all()
    session.execute(insert(Patient), [dict(user_id=uid, date_of_birth=date(1970, 1, 1), phone="07700 900001")
                                      for uid in rush_user_ids])

    counts = Counter()
    counts["seconds: accounts"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()

    # -- appointments: the engine's own slot grid; 60% of the next 90 days booked, history behind ---
    availabilities = service.availabilities(doctors, history_start, last_day)
    long_ago = datetime.combine(history_start - timedelta(days=1), wall(0), tz)
    grid = []
    for doctor in doctors:
        for slot in slots.bookable_slots(availabilities[doctor.id], first_day=history_start, last_day=last_day,
                                         tz=tz, now=long_ago, minimum_notice=timedelta(0),
                                         horizon=timedelta(days=args.history_days + HORIZON_DAYS + 30)):
            grid.append((slot.start_at, slot.end_at, doctor.id))
    grid.sort()
    recent = now - timedelta(days=2)
    rows = []
    patient_turn = 0
    for start_at, end_at, doctor_id in grid:
        future = start_at >= now
        if rng.random() < args.booked_share:
            if future or start_at >= recent:
                status = AppointmentStatus.BOOKED
            else:
                r = rng.random()
                status = (AppointmentStatus.COMPLETED if r < 0.90 else
                          AppointmentStatus.NO_SHOW if r < 0.94 else AppointmentStatus.CANCELLED)
        elif future and start_at < now + timedelta(days=HORIZON_DAYS) and rng.random() < 0.08:
            status = AppointmentStatus.CANCELLED  # churn: a freed slot keeps its cancelled row
        else:
            if future:
                counts["free future slots"] += 1
            continue
        # Cycling through thousands of patients in time order: no patient is ever double-booked.
        patient_id = patient_ids[patient_turn % len(patient_ids)]
        patient_turn += 1
        cancelled = status is AppointmentStatus.CANCELLED
        created = min(now, start_at) - timedelta(days=rng.randint(1, 30))
        rows.append(dict(doctor_id=doctor_id, patient_id=patient_id, start_at=start_at, end_at=end_at,
                         status=status, reason=rng.choice(["Check-up", "Follow-up", "Prescription review",
                                                           "Test results", ""]),
                         needs_attention=False, created_at=created, updated_at=created,
                         cancelled_at=created + timedelta(hours=5) if cancelled else None,
                         cancellation_reason="Cancelled by the patient online" if cancelled else ""))
        counts[("future " if future else "past ") + status.value] += 1
    counts["seconds: slot grid"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    # Core executemany: column defaults apply, no ORM bookkeeping. It sends one INSERT a row, and
    # the trigger that moves the doctor's calendar_version (migration 0004) would run for each:
    # a bulk load switches it off and moves every doctor's version once at the end instead.
    connection = session.connection()
    connection.exec_driver_sql("ALTER TABLE appointments DISABLE TRIGGER appointments_insert_calendar_version")
    for chunk in range(0, len(rows), 5000):
        connection.execute(insert(Appointment.__table__), rows[chunk:chunk + 5000])
    connection.exec_driver_sql("ALTER TABLE appointments ENABLE TRIGGER appointments_insert_calendar_version")
    connection.exec_driver_sql("UPDATE doctors SET calendar_version = nextval('calendar_versions')")
    session.commit()
    counts["seconds: appointment insert"] = round(time.perf_counter() - began, 1)
    counts["appointment rows"] = session.scalar(select(func.count()).select_from(Appointment))
    counts["patients"] = len(patient_ids) + len(load_emails)
    return SeedInfo([d.id for d in doctors], load_emails, today, dict(counts), rush_user_ids=list(rush_user_ids))


def prepare_database(admin_url: str, name: str, env: dict, args) -> SeedInfo:
    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import text

    from carebook import create_app
    from carebook.extensions import db

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    app = create_app(env=env)
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        print(f"  migrated (flask_migrate.upgrade) in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        info = seed_clinic(app, args, random.Random(args.seed))
        info.rush_sessions = mint_sessions(app, info.rush_user_ids)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        db.session.remove()
        db.engine.dispose()
    print(f"  seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items())), flush=True)
    return info


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"  dropped database {name}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn_binary() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "gunicorn", Path(sys.executable).parent / "gunicorn"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("gunicorn")
    if not found:
        raise SystemExit("gunicorn not found: .venv/bin/pip install gunicorn")
    return found


class Gunicorn:
    """gunicorn as production runs it: the Dockerfile's command and gunicorn.conf.py, with the
    bind address, worker count and timeouts set through the config file's environment variables."""

    def __init__(self, workers: int, port: int, env: dict, log_path: Path):
        self.command = [_gunicorn_binary(), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
                    "GUNICORN_TIMEOUT": "60", "GUNICORN_GRACEFUL_TIMEOUT": "5"}
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None

    def describe(self) -> str:
        settings = ", ".join(f"{k}={self.env[k]}" for k in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT"))
        return f"gunicorn -c gunicorn.conf.py wsgi:app ({settings})"

    def get_status(self, path: str) -> int | None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                head = sock.recv(64)
        except OSError:
            return None
        return int(head[9:12]) if head.startswith(b"HTTP/1.") and head[9:12].isdigit() else None

    def start(self) -> None:
        # Access and error lines (JSON) go to the log file; problems() reads it afterwards.
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.get_status("/api/csrf-token") == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /api/csrf-token with 200 within 60 s:\n{self.log_tail()}")

    def trivial_path(self) -> str:
        for path in TRIVIAL_CANDIDATES:
            if self.get_status(path) == 200:
                return path
        raise RuntimeError(f"none of {', '.join(TRIVIAL_CANDIDATES)} answers 200")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        print("  gunicorn stopped", flush=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def problems(self) -> list[str]:
        """Error lines the server logged (tracebacks, worker timeouts)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines()
                if re.search(r'\[(ERROR|CRITICAL)\]|"level": "(ERROR|CRITICAL)"|Traceback|WORKER TIMEOUT', line)]


# =============================================================================================
# Report
# =============================================================================================


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(results: list[dict], trivial_rps: float | None) -> None:
    header = ["endpoint", "mode", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors 5xx/other",
              "vs trivial", "srv CPU ms/req", "gen CPU", "others CPU"]
    rows = []
    for r in results:
        ratio = "-"
        if r["key"].startswith("closed:") and trivial_rps:
            ratio = f"{r['rps'] / trivial_rps:.0%}"
        rows.append([r["name"], r["mode"], str(r["requests"]), f"{r['rps']:.1f}", _ms(r["p50"]), _ms(r["p95"]),
                     _ms(r["p99"]), f"{r['server_errors']}/{r['other_errors']}", ratio,
                     _ms(r["server_cpu_ms"]), f"{r['gen_cpu_share']:.0%}",
                     "-" if r["other_cpu_share"] is None else f"{r['other_cpu_share']:.0%}"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    align = ["<", "<"] + [">"] * (len(header) - 2)

    def line(cells):
        return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths))

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for r in results:
        if r["note"]:
            print(f"  {r['name'].split()[0]} {r['mode']}: {r['note']}")
        if r["failures"]:
            print(f"  {r['name'].split()[0]} {r['mode']}: transport failures {r['failures']}")


def run_slot_engine(runs: int) -> float | None:
    """bench/slot_engine.py in its own process (after gunicorn stopped); returns its median ms."""
    script = ROOT / "bench" / "slot_engine.py"
    if not script.exists():
        print("  (bench/slot_engine.py not found)")
        return None
    completed = subprocess.run([sys.executable, str(script), "--runs", str(runs)], cwd=ROOT,
                               capture_output=True, text=True)
    output = (completed.stdout + completed.stderr).rstrip()
    print("\n".join("  " + line for line in output.splitlines()))
    match = re.search(r"all doctors \(ms\)\s+([\d.]+)", output)
    return float(match.group(1)) if match else None


def verify_rush(database_url: str, rush: dict) -> dict:
    """What the database holds for the rush's slots: booked appointments per slot, and any overlap."""
    import psycopg

    starts = [_parse_instant(start) for start in rush["slots"]]
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


def print_rush(rush: dict, check: dict) -> None:
    statuses = rush["statuses"]
    server_errors = sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)
    other = sum(v for k, v in statuses.items() if k not in ("201", "409") and not (k.isdigit() and int(k) >= 500))
    print(f"  {rush['name']}")
    print(f"    {rush['clients']} clients, {rush['requests']} requests in {rush['elapsed']:.2f} s: "
          f"successes {statuses.get('201', 0)}, conflicts {statuses.get('409', 0)} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(rush['conflict_codes'].items())) or 'none'}), "
          f"5xx {server_errors}, other {other}")
    print(f"    latency ms: p50 {_ms(rush['p50'])}, p95 {_ms(rush['p95'])}, p99 {_ms(rush['p99'])}, "
          f"max {_ms(rush['max'])}")
    print(f"    in the database: {check['booked_rows']} booked rows on {check['booked_slots']} of the "
          f"{len(rush['slots'])} slots, at most {check['max_per_slot']} per slot; overlapping bookings of the "
          f"doctor: {check['overlaps']}")


def rush_ok(rush: dict, check: dict) -> bool:
    statuses = rush["statuses"]
    server_errors = sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)
    return (statuses.get("201", 0) == RUSH_SLOTS == check["booked_rows"] == check["booked_slots"]
            and check["max_per_slot"] == 1 and check["overlaps"] == 0 and server_errors == 0
            and sorted(rush["won"]) == sorted(rush["slots"]))


def print_targets(by_key: dict[str, dict], trivial_rps: float | None, engine_ms: float | None,
                  rush_checks: list | None = None) -> None:
    def verdict(ok: bool | None) -> str:
        return "n/a " if ok is None else ("PASS" if ok else "FAIL")

    def ratio_line(key: str, label: str, target: float) -> None:
        row = by_key.get(key)
        ratio = row["rps"] / trivial_rps if row and trivial_rps else None
        shown = "-" if ratio is None else f"{ratio:.0%}"
        if row and row["server_cpu_ms"]:
            shown += f" ({row['server_cpu_ms']:.1f} ms server CPU per request)"
        print(f"  [{verdict(None if ratio is None else ratio >= target)}] {label} throughput >= "
              f"{target:.0%} of trivial (closed loop): {shown}")

    print("\nTargets")
    floor = by_key.get("closed:signed-in")
    if floor and trivial_rps:
        print(f"  [info] a signed-in request that does nothing else runs at {floor['rps'] / trivial_rps:.0%} of "
              f"trivial ({_ms(floor['server_cpu_ms'])} ms server CPU): the ceiling of every signed-in endpoint")
    ratio_line("closed:slots", "slots", TARGET_SLOTS_RATIO)
    open_slots = by_key.get("open:slots")
    p99 = open_slots["p99"] if open_slots else None
    saturated = " (server saturated at this rate)" if open_slots and "SATURATED" in open_slots["note"] else ""
    print(f"  [{verdict(None if p99 is None else p99 < TARGET_SLOTS_P99_MS)}] slots p99 < "
          f"{TARGET_SLOTS_P99_MS:.0f} ms at moderate load ({open_slots['mode'] if open_slots else 'open loop'}): "
          f"{_ms(p99)} ms{saturated}")
    ratio_line("closed:booking", "booking", TARGET_BOOKING_RATIO)
    print(f"  [{verdict(None if engine_ms is None else engine_ms < TARGET_ENGINE_MS)}] slot engine 20 doctors x "
          f"90 days < {TARGET_ENGINE_MS:.0f} ms (median): {_ms(engine_ms)} ms")
    for rush, check in rush_checks or []:
        print(f"  [{verdict(rush_ok(rush, check))}] {rush['name']}: exactly {RUSH_SLOTS} successes, no 5xx, "
              f"one booking per slot in the database: {rush['statuses'].get('201', 0)} successes, "
              f"{check['booked_rows']} rows")


# =============================================================================================
# Main
# =============================================================================================

SCENARIOS = ("trivial", "signed-in", "slots", "doctors", "booking")


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description="End-to-end HTTP benchmark of Carebook under gunicorn.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop users (default 16)")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second (default 100)")
    parser.add_argument("--workers", type=int, default=2 * cores + 1,
                        help=f"gunicorn sync workers (default 2 x cores + 1 = {2 * cores + 1})")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL),
                        help="PostgreSQL server where a throw-away database may be created "
                             "(default: $TEST_DATABASE_URL or %(default)s)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="closed-loop scenarios, comma-separated (default: %(default)s)")
    parser.add_argument("--open-scenarios", default="trivial,slots,booking",
                        help="open-loop scenarios at --rate (default: %(default)s; '' for none)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per scenario (default 0.5)")
    parser.add_argument("--patients", type=int, default=16,
                        help="load-test patients signed in through the API (default 16; each login "
                             "costs an argon2 verification, ~0.25 s of CPU)")
    parser.add_argument("--seed-patients", type=int, default=2000, help="background patients (default 2000)")
    parser.add_argument("--doctors", type=int, default=20, help="doctors (default 20)")
    parser.add_argument("--history-days", type=int, default=180,
                        help="days of past appointments behind today (default 180)")
    parser.add_argument("--booked-share", type=float, default=0.6, help="share of slots booked (default 0.6)")
    parser.add_argument("--engine-runs", type=int, default=10, help="runs of bench/slot_engine.py (0 to skip)")
    parser.add_argument("--seed", type=int, default=20260301, help="random seed")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--no-rush", dest="rush", action="store_false",
                        help=f"skip the booking rushes ({RUSH_CLIENTS} clients after {RUSH_SLOTS} slots, on one "
                             "server and on two)")
    parser.add_argument("--rush-second-workers", type=int, default=3,
                        help="gunicorn workers of the second app server in the two-server rush (default 3)")
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.open_scenarios = [s for s in args.open_scenarios.split(",") if s]
    for name in args.scenarios + args.open_scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return args


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    # A plain `kill` should clean up as Ctrl-C does: stop gunicorn, drop the database.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import make_url

    cores = os.cpu_count() or 1
    name = f"carebook_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    database_url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    port = _free_port()
    instance = Path(tempfile.mkdtemp(prefix="carebook-bench-"))
    bench_env = {
        "CAREBOOK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),  # 64 characters, new every run
        "DATABASE_URL": database_url,
        "CAREBOOK_INSTANCE_PATH": str(instance),
        "CLINIC_TIMEZONE": TIMEZONE,
        "BOOKING_HORIZON_DAYS": str(HORIZON_DAYS),
        "BOOKING_MIN_NOTICE_MINUTES": str(MIN_NOTICE_MINUTES),
    }
    env = {**os.environ, **bench_env, "PYTHONPATH": str(ROOT)}
    print(f"Carebook HTTP benchmark: {cores} cores, gunicorn {args.workers} sync workers "
          f"(2 x cores + 1 unless --workers), CAREBOOK_ENV=production, PostgreSQL database {name}")
    print(f"  {args.duration:g} s per scenario; closed loop at concurrency {args.concurrency}, "
          f"open loop at {args.rate:g} req/s")
    if cores <= 2:
        print(f"  NOTE: only {cores} cores: the load generator, gunicorn and PostgreSQL share them, so every "
              "figure is lower than on a dedicated server (see the 'gen CPU' column).")

    results: dict = {}
    engine_ms = None
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, instance, ignore_errors=True)
        started = time.perf_counter()
        try:
            info = prepare_database(args.database_url, name, env, args)
        finally:
            if not args.keep_database:
                cleanup.callback(drop_database, args.database_url, name)
        server = Gunicorn(args.workers, port, env, instance / "gunicorn.log")
        cleanup.callback(server.stop)
        server.start()
        trivial_path = server.trivial_path()
        print(f"  {server.describe()} up after {time.perf_counter() - started:.1f} s of setup", flush=True)
        rushes = []
        if args.rush:
            # A second, separate app server (its own gunicorn master) on the same database.
            second = Gunicorn(args.rush_second_workers, _free_port(), env, instance / "gunicorn-second.log")
            cleanup.callback(second.stop)
            second.start()
            print(f"  second app server: {second.describe()}", flush=True)
            rushes = [{"name": f"rush: one server ({args.workers} workers)", "ports": [port]},
                      {"name": f"rush: two servers (ports {port} and {second.port})", "ports": [port, second.port]}]

        plan = {
            "port": port, "workers": args.workers, "concurrency": args.concurrency, "rate": args.rate,
            "duration": args.duration, "warmup": args.warmup, "scenarios": args.scenarios,
            "open_scenarios": args.open_scenarios, "doctor_ids": info.doctor_ids,
            "patient_emails": info.patient_emails, "today": info.today.isoformat(),
            "min_notice_minutes": MIN_NOTICE_MINUTES, "seed": args.seed,
            "server_pid": server.process.pid, "database_name": name, "trivial_path": trivial_path,
            "rushes": rushes, "rush_sessions": info.rush_sessions,
        }
        results = run_load_generator(plan, cleanup)
        problems = server.problems()
        server.stop()
        if rushes:
            problems += second.problems()
            second.stop()

        by_key = {r["key"]: r for r in results["results"]}
        trivial = by_key.get("closed:trivial")
        trivial_rps = trivial["rps"] if trivial else None
        print(f"\nResults ({args.workers} gunicorn sync workers, {cores} cores shared with the load generator "
              f"and PostgreSQL; latencies in ms; {results['connects']} TCP connections opened)\n")
        print_table(results["results"], trivial_rps)
        if trivial_path == "/healthz":
            print("\n  trivial endpoint = GET /healthz (public; no session, no database): the ceiling.")
        else:
            print(f"\n  trivial endpoint = GET {trivial_path} (stand-in: the app has no /healthz route; this one "
                  "also signs and sets a session cookie on every answer).")
        print("  'vs trivial' = closed-loop req/s / trivial closed-loop req/s. Open loop: latency counted from "
              "when each request was due.")
        print("  'srv CPU ms/req' = CPU of gunicorn + this database's PostgreSQL backends per request "
              "(less sensitive than req/s to a busy box).")
        print("  'gen CPU' = load generator's CPU, share of one core; 'others CPU' = unrelated processes "
              "(e.g. test runs; a lower bound), share of the whole box: high means req/s is depressed.")
        if problems:
            print(f"\n  server logged {len(problems)} error lines, first ones:")
            for line in problems[:10]:
                print("    " + line)

        rush_checks = []
        if results.get("rushes"):
            print(f"\nBooking rush: {RUSH_CLIENTS} patients at once after {RUSH_SLOTS} free slots of one doctor; "
                  "a client whose slot was taken tries another still listed in the 409 answer\n")
            for rush in results["rushes"]:
                check = verify_rush(database_url, rush)
                rush_checks.append((rush, check))
                print_rush(rush, check)
        if args.engine_runs > 0:
            print("\nIn-process slot engine (bench/slot_engine.py, no HTTP, no database):")
            engine_ms = run_slot_engine(args.engine_runs)
        print_targets(by_key, trivial_rps, engine_ms, rush_checks)
        print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted (gunicorn stopped, database dropped)", file=sys.stderr)
        sys.exit(130)
