"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (the Dockerfile's CMD).

Each setting can be overridden from the environment (GUNICORN_*), so one image serves
every size of container. See docs/deployment.md for sizing.
"""
import math
import os


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may really use: the container's CPU quota (cgroup v2 or v1), else its affinity.

    On ECS Fargate the task's vCPUs; os.cpu_count() alone would see the host's.
    """
    quota = None
    try:
        with open(os.path.join(cgroup_root, "cpu.max")) as cpu_max:  # v2: "<quota> <period>" or "max <period>"
            limit, period = cpu_max.read().split()
            if limit != "max":
                quota = int(limit) / int(period)
    except (OSError, ValueError):
        try:
            with open(os.path.join(cgroup_root, "cpu", "cpu.cfs_quota_us")) as quota_file, \
                    open(os.path.join(cgroup_root, "cpu", "cpu.cfs_period_us")) as period_file:
                limit, period = int(quota_file.read()), int(period_file.read())
                if limit > 0:
                    quota = limit / period
        except (OSError, ValueError):
            pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def default_workers(cpus: int) -> int:
    """Sync workers: each spends part of every request waiting on PostgreSQL, so 2 per CPU + 1."""
    return 2 * cpus + 1


def whole_number(name: str, default: int, minimum: int = 1) -> int:
    """``$name`` as a whole number; a wrong one stops gunicorn with one line naming it (gunicorn
    would print a traceback of this file), as every other setting does (carebook/config.py)."""
    raw = os.environ.get(name) or ""
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"Carebook cannot start: {name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"Carebook cannot start: {name} must be at least {minimum}, got {value}")
    return value


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
if os.environ.get("LOG_LEVEL", "info").lower() not in LOG_LEVELS:
    raise SystemExit("Carebook cannot start: LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                     f"got {os.environ['LOG_LEVEL']!r}")

bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
_host, _, _port = bind.rpartition(":")
if not bind.startswith(("unix:", "fd://")) and not (_host and _port.isdigit() and 0 < int(_port) < 65536):
    raise SystemExit(f"Carebook cannot start: GUNICORN_BIND must be host:port (e.g. 0.0.0.0:8000), got {bind!r}")
# Sync workers: one request at a time each, one database connection each; scale out with containers.
worker_class = "sync"
workers = whole_number("GUNICORN_WORKERS", 0) or default_workers(available_cpus())
# A request that takes longer than this is stuck (the database calls time out well before): restart the worker.
timeout = whole_number("GUNICORN_TIMEOUT", 30)
# On SIGTERM (ECS stopping the task), finish the requests in flight; shorter than ECS's stopTimeout (30 s).
graceful_timeout = whole_number("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5  # only matters for non-sync workers; the ALB keeps its own connection pool
# Load the app once in the master and fork the workers from it: less memory, and a worker
# restarted by max_requests is ready at once. The app opens no connection at import.
preload_app = True
# Recycle workers now and then, so a slow leak in any library can never grow without end.
max_requests = whole_number("GUNICORN_MAX_REQUESTS", 5000, minimum=0)
max_requests_jitter = max_requests // 10
# The ALB sends a lot of small requests; the default listen backlog (2048) is fine behind it.
backlog = whole_number("GUNICORN_BACKLOG", 2048)
# Logs: JSON lines on stdout (to CloudWatch through the awslogs driver), an access line per
# request with its request id and no query string, client address or headers.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "carebook.logging_setup.GunicornLogger"
# Trust X-Forwarded-* only from the load balancer's addresses (set by the stack; the app's
# own ProxyFix, TRUSTED_PROXY_HOPS, decides what the app reads).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# /dev/shm for the worker heartbeat files: a container's /tmp may be a slow overlay.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)


def post_fork(server, worker):
    """Each worker opens its own database connections: drop any the master's pool might hold."""
    from carebook.extensions import db

    app = getattr(server.app, "callable", None)
    if app is not None and hasattr(app, "app_context"):
        with app.app_context():
            db.engine.dispose(close=False)
