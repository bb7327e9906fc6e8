"""How load is applied and measured: closed and open loops, per-scenario statistics, CPU by process.

Standard library only: it runs in the load generator's process, which never imports the app.
"""
from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from .client import HttpClient, HttpError, Response


def log(text: str) -> None:
    """A progress line of the load generator."""
    print(f"  [load] {text}", flush=True)


def percentile(ordered: list[float], p: float) -> float | None:
    """The nearest-rank percentile ``p`` of ascending values (None when there are none)."""
    n = len(ordered)
    return ordered[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] if n else None


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
        server_errors = sum(c for s, c in self.statuses.items() if s >= 500)
        other = sum(self.failures.values()) + sum(
            c for s, c in self.statuses.items() if s < 500 and s not in self.ok_statuses)
        return {
            "name": self.name, "mode": self.mode, "requests": n,
            "rps": n / self.elapsed if self.elapsed > 0 else 0.0,
            "p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
            "max": lat[-1] if lat else None,
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
                found[pid] = self._kind_and_ticks(pid)
            except (OSError, IndexError, ValueError):
                continue
        return found

    def _kind_and_ticks(self, pid: int) -> tuple[str, int]:
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
        return kind, ticks

    def delta(self, before, after) -> dict[str, float] | None:
        if before is None or after is None:
            return None
        spent = {"server": 0.0, "db": 0.0, "gen": 0.0, "other": 0.0}
        for pid, (kind, ticks) in after.items():
            previous = before.get(pid)
            start = previous[1] if previous and previous[0] == kind else 0
            spent[kind] += max(0, ticks - start) / self.tick
        return spent


async def send(client: HttpClient, raw: bytes, method: str) -> tuple[int | None, str | None, Response | None]:
    """(status, None, response), or (None, kind of failure, None) on a timeout or transport error."""
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
            status, failure, response = await send(client, raw, method)
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
            status, failure, response = await send(client, raw, method)
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
