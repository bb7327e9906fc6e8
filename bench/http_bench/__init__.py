"""End-to-end HTTP benchmark: the real app under gunicorn, on PostgreSQL, with a seeded clinic.

    .venv/bin/python -m bench.http_bench [--duration 10] [--concurrency 16] [--workers N]
                                         [--rate 100] [--database-url postgresql://...]

1. creates a throw-away PostgreSQL database, migrates it and seeds a clinic
   (20 doctors, 90 days ahead with ~60% of slots booked, history, 2000 patients): ``seeding``;
2. starts ``gunicorn -c gunicorn.conf.py wsgi:app`` (sync workers) with production settings:
   ``server``;
3. drives it from a separate load-generator process (``generator``, with the small asyncio
   HTTP/1.1 client of ``client`` and the loops of ``load``) closed-loop at a fixed concurrency
   and open-loop at a fixed rate, through the ``scenarios``, then the booking ``rush``;
4. prints one table, then the in-process slot engine figure (bench/slot_engine.py, run by
   ``engine``) and the targets (``report``); stops gunicorn and drops the database.

The load generator's modules (``client``, ``load``, ``scenarios``, ``preparation``, ``rush``,
``generator``) import only the standard library at module level: its process never holds a
copy of the app. See bench/README.md for what the figures mean and the targets.
"""
