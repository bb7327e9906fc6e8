"""The load-generator process: it receives the plan from the main process, prepares (sign-ins,
free slots), warms up, runs every scenario in both modes and the rushes, and sends the
results back. It is started with *spawn*, so it holds no copy of the app or its data.

Standard library only at module level, as are the modules it imports.
"""
from __future__ import annotations

import asyncio
import traceback
from contextlib import ExitStack
from datetime import date
from multiprocessing import get_context

from .client import HttpClient, Patient
from .load import CpuMeter, Stats, closed_loop, log, open_loop
from .preparation import booking_jobs, sign_in_patients
from .rush import booking_rush
from .scenarios import EXPECTED_STATUSES, Scenarios, keep_cookies, label


class LoadGenerator:
    """What the load generator does, built from the plan the main process sends."""

    def __init__(self, plan: dict):
        self.plan = plan
        self.client = HttpClient("127.0.0.1", plan["port"])
        self.meter = CpuMeter(plan.get("server_pid"), plan.get("database_name"))
        self.patients = [Patient(email) for email in plan["patient_emails"]]
        self.doctor_ids: list[int] = plan["doctor_ids"]
        self.today = date.fromisoformat(plan["today"])

    async def run(self) -> dict:
        plan = self.plan
        await sign_in_patients(self.client, self.patients, plan["workers"])
        jobs, mixed_jobs = await booking_jobs(self.client, self.patients, self.doctor_ids, self.today, plan)
        if not jobs:
            raise RuntimeError("no free slots to book")
        scenarios = Scenarios(self.client, self.patients, self.doctor_ids, self.today, plan["trivial_path"], jobs,
                              plan.get("mixed_doctor_ids", []), [t for t, _ in plan.get("mixed_types", [])],
                              mixed_jobs)
        await self.warm_up(scenarios)
        runs = [("closed", name) for name in plan["scenarios"]]
        runs += [("open", name) for name in plan["open_scenarios"]]
        # Bookings change the calendars, so every read-only scenario runs before any booking one.
        runs.sort(key=lambda run: run[1].startswith("booking"))
        results = [await self.measure(mode, name, scenarios) for mode, name in runs]
        rush_results = []
        for rush in plan.get("rushes", []):
            outcome = await booking_rush(rush, plan["rush_sessions"])
            rush_results.append(outcome)
            log(f"{rush['name']}: {outcome['clients']} clients, {outcome['requests']} requests, "
                f"statuses {outcome['statuses']}, {len(outcome['won'])} slots won")
        self.client.close()
        return {"results": results, "rushes": rush_results, "connects": self.client.connects}

    async def warm_up(self, scenarios: Scenarios) -> None:
        warm = Stats("warm-up", "warm-up")
        for name in self.plan["scenarios"]:
            await closed_loop(self.client, self.meter, warm, scenarios.factory(name), self.plan["workers"],
                              self.plan["warmup"], keep_cookies)
        log(f"warm-up: {len(warm.latencies_ms)} requests, statuses {dict(warm.statuses)}")

    async def measure(self, mode: str, name: str, scenarios: Scenarios) -> dict:
        """One scenario in one mode: its summary, keyed ``mode:name``."""
        plan = self.plan
        stats = Stats(label(name, plan["trivial_path"]), mode, ok_statuses=EXPECTED_STATUSES.get(name, (200,)))
        if mode == "closed":
            stats.mode = f"closed c={plan['concurrency']}"
            await closed_loop(self.client, self.meter, stats, scenarios.factory(name), plan["concurrency"],
                              plan["duration"], keep_cookies)
        else:
            stats.mode = f"open {plan['rate']:g}/s"
            await open_loop(self.client, self.meter, stats, scenarios.factory(name), plan["rate"],
                            plan["duration"], on_response=keep_cookies)
        notes = [stats.note] if stats.note else []
        if name.startswith("booking"):
            notes.append("statuses " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())))
            if scenarios.out_of_slots(name):
                notes.append("ran out of free slots")
        stats.note = "; ".join(notes)
        summary = stats.summary()
        summary["key"] = f"{mode}:{name}"
        log(f"{summary['name'].split()[0]:<8} {stats.mode:<12} {summary['requests']:>6} requests, "
            f"{summary['rps']:.0f} req/s, p99 {summary['p99'] or 0:.1f} ms, "
            f"statuses {summary['statuses']}"
            + (f", failures {summary['failures']}" if summary["failures"] else ""))
        return summary


def loadgen_main(plan: dict, connection) -> None:
    """Entry point of the load-generator process: runs the plan, sends back the results."""
    try:
        connection.send(("ok", asyncio.run(LoadGenerator(plan).run())))
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
