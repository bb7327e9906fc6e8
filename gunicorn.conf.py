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


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: one request at a time each, one database connection each; scale out with containers.
worker_class = "sync"
workers = int(os.environ.get("GUNICORN_WORKERS") or default_workers(available_cpus()))
# A request that takes longer than this is stuck (the database calls time out well before): restart the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM (ECS stopping the task), finish the requests in flight; shorter than ECS's stopTimeout (30 s).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = 5  # only matters for non-sync workers; the ALB keeps its own connection pool
# Load the app once in the master and fork the workers from it: less memory, and a worker
# restarted by max_requests is ready at once. The app opens no connection at import.
preload_app = True
# Recycle workers now and then, so a slow leak in any library can never grow without end.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = max_requests // 10
# The ALB sends a lot of small requests; the default listen backlog (2048) is fine behind it.
backlog = int(os.environ.get("GUNICORN_BACKLOG", 2048))
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
