"""What the benchmark prints: the run's heading, the results table and its legend, the rushes,
and the targets with their verdicts (also listed in bench/README.md)."""
from __future__ import annotations

from .rush import rush_ok, server_errors
from .settings import MIXED_TYPES, RUSH_CLIENTS, RUSH_SLOTS

MIXED_TYPE_NAMES = [f"{name} {minutes}+{buffer} min" for name, minutes, buffer in MIXED_TYPES]

# The headline figures and their targets.
TARGET_SLOTS_RATIO = 0.40
TARGET_SLOTS_P99_MS = 50.0
TARGET_BOOKING_RATIO = 0.25
TARGET_ENGINE_MS = 100.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_heading(args, cores: int, database_name: str) -> None:
    print(f"Carebook HTTP benchmark: {cores} cores, gunicorn {args.workers} sync workers "
          f"(2 x cores + 1 unless --workers), CAREBOOK_ENV=production, PostgreSQL database {database_name}")
    print(f"  {args.duration:g} s per scenario; closed loop at concurrency {args.concurrency}, "
          f"open loop at {args.rate:g} req/s")
    if cores <= 2:
        print(f"  NOTE: only {cores} cores: the load generator, gunicorn and PostgreSQL share them, so every "
              "figure is lower than on a dedicated server (see the 'gen CPU' column).")


def print_results(results: dict, trivial_rps: float | None, trivial_path: str, workers: int, cores: int,
                  problems: list[str]) -> None:
    """The table of every scenario, what its columns mean, and the server's error lines if any."""
    print(f"\nResults ({workers} gunicorn sync workers, {cores} cores shared with the load generator "
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


def print_mixed_types(by_key: dict[str, dict], mixed_doctors: int) -> None:
    """The slots and booking figures with mixed lengths next to today's (one default type per doctor)."""
    pairs = [(mode, name) for mode in ("closed", "open") for name in ("slots", "booking")
             if f"{mode}:{name}" in by_key and f"{mode}:{name}-mixed" in by_key]
    if not pairs:
        return
    print(f"\nMixed appointment types ({mixed_doctors} doctors each offering {', '.join(MIXED_TYPE_NAMES)}, "
          "calendars of all of them) next to today's single type per doctor, same run")
    header = ["figure", "mode", "today req/s", "mixed req/s", "today p50/p99 ms", "mixed p50/p99 ms",
              "today CPU ms/req", "mixed CPU ms/req", "mixed/today req/s"]
    rows = []
    for mode, name in pairs:
        today, mixed = by_key[f"{mode}:{name}"], by_key[f"{mode}:{name}-mixed"]
        rows.append([name, today["mode"], f"{today['rps']:.1f}", f"{mixed['rps']:.1f}",
                     f"{_ms(today['p50'])}/{_ms(today['p99'])}", f"{_ms(mixed['p50'])}/{_ms(mixed['p99'])}",
                     _ms(today["server_cpu_ms"]), _ms(mixed["server_cpu_ms"]),
                     f"{mixed['rps'] / today['rps']:.2f}" if today["rps"] else "-"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print("  " + "  ".join(f"{h:<{w}}" for h, w in zip(header, widths)))
    for row in rows:
        print("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths)))


def print_rush_heading() -> None:
    print(f"\nBooking rush: {RUSH_CLIENTS} patients at once after {RUSH_SLOTS} free slots of one doctor; "
          "a client whose slot was taken tries another still listed in the 409 answer\n")


def print_rush(rush: dict, check: dict) -> None:
    statuses = rush["statuses"]
    errors = server_errors(statuses)
    other = sum(v for k, v in statuses.items() if k not in ("201", "409") and not (k.isdigit() and int(k) >= 500))
    print(f"  {rush['name']}")
    print(f"    {rush['clients']} clients, {rush['requests']} requests in {rush['elapsed']:.2f} s: "
          f"successes {statuses.get('201', 0)}, conflicts {statuses.get('409', 0)} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(rush['conflict_codes'].items())) or 'none'}), "
          f"5xx {errors}, other {other}")
    print(f"    latency ms: p50 {_ms(rush['p50'])}, p95 {_ms(rush['p95'])}, p99 {_ms(rush['p99'])}, "
          f"max {_ms(rush['max'])}")
    print(f"    in the database: {check['booked_rows']} booked rows on {check['booked_slots']} of the "
          f"{len(rush['slots'])} slots, at most {check['max_per_slot']} per slot; overlapping bookings of the "
          f"doctor: {check['overlaps']}")


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def print_targets(by_key: dict[str, dict], trivial_rps: float | None, engine_ms: float | None,
                  rush_checks: list | None = None) -> None:
    def ratio_line(key: str, label: str, target: float) -> None:
        row = by_key.get(key)
        ratio = row["rps"] / trivial_rps if row and trivial_rps else None
        shown = "-" if ratio is None else f"{ratio:.0%}"
        if row and row["server_cpu_ms"]:
            shown += f" ({row['server_cpu_ms']:.1f} ms server CPU per request)"
        print(f"  [{_verdict(None if ratio is None else ratio >= target)}] {label} throughput >= "
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
    print(f"  [{_verdict(None if p99 is None else p99 < TARGET_SLOTS_P99_MS)}] slots p99 < "
          f"{TARGET_SLOTS_P99_MS:.0f} ms at moderate load ({open_slots['mode'] if open_slots else 'open loop'}): "
          f"{_ms(p99)} ms{saturated}")
    ratio_line("closed:booking", "booking", TARGET_BOOKING_RATIO)
    print(f"  [{_verdict(None if engine_ms is None else engine_ms < TARGET_ENGINE_MS)}] slot engine 20 doctors x "
          f"90 days < {TARGET_ENGINE_MS:.0f} ms (median): {_ms(engine_ms)} ms")
    for rush, check in rush_checks or []:
        print(f"  [{_verdict(rush_ok(rush, check))}] {rush['name']}: exactly {RUSH_SLOTS} successes, no 5xx, "
              f"one booking per slot in the database: {rush['statuses'].get('201', 0)} successes, "
              f"{check['booked_rows']} rows")
