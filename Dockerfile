# syntax=docker/dockerfile:1
# Carebook's web image. See docs/deployment.md.
#   build:    docker build -t carebook .
#   serve:    docker run -p 8000:8000 -e DATABASE_URL=... -e SECRET_KEY=... -e BASE_URL=https://... -e SMTP_HOST=... carebook
#   migrate:  docker run -e DATABASE_URL=... -e SECRET_KEY=... carebook flask db upgrade   (once per deployment)
#   static:   docker run --rm -v "$PWD/out:/out" carebook cp -r /app/static-build/. /out   (then upload to S3)
# tests/deploy/test_container.py runs this file's install and start commands without Docker.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: the dependencies in a virtualenv, and the static files with hashed names ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The dependencies are their own layer, rebuilt only when the runtime lock changes. The lock pins
# the whole tree with hashes (the versions the tests ran; scripts/lock writes it from setup.cfg),
# and every package ships wheels for x86_64 and aarch64, so no compiler is needed.
COPY requirements/runtime.txt requirements/
RUN python -m venv /venv \
 && /venv/bin/pip install --require-hashes --only-binary=:all: -r requirements/runtime.txt
COPY . .
RUN /venv/bin/python scripts/collect-static /src/static-build \
 && find /src -name '__pycache__' -prune -exec rm -rf {} +

# ---- runtime: the virtualenv and the code, nothing else; runs as an unprivileged user ----------
FROM ${PYTHON_IMAGE}
RUN useradd --create-home --uid 10001 --user-group carebook
COPY --from=build /venv /venv
WORKDIR /app
COPY --from=build --chown=root:root /src /app
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAREBOOK_ENV=production \
    FLASK_APP=wsgi \
    CAREBOOK_INSTANCE_PATH=/tmp/carebook \
    GUNICORN_BIND=0.0.0.0:8000 \
    STATIC_MANIFEST=/app/static-build/manifest.json
# The code is owned by root and read-only to the app's user; it writes only to /tmp.
USER carebook
EXPOSE 8000
# Liveness only (/healthz touches no database); the load balancer asks /readyz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('GUNICORN_BIND', ':8000').rsplit(':', 1)[1]; sys.exit(urllib.request.urlopen('http://127.0.0.1:' + port + '/healthz', timeout=2).status != 200)"]
# Migrations are not run here: they are a separate one-off step of each deployment (`flask db upgrade`).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
