# syntax=docker/dockerfile:1
# Build: docker build -t carebook .   Run: see docs in README (DATABASE_URL, SECRET_KEY, ...).
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY setup.cfg setup.py README.md ./
COPY carebook carebook
COPY models models
COPY portal portal
COPY admin admin
COPY reminders reminders
COPY lambda_handler lambda_handler
# Install the dependencies only; the code itself runs from /app, with templates beside it.
RUN python -m venv /venv && /venv/bin/pip install --upgrade pip && /venv/bin/pip install . \
    && /venv/bin/pip uninstall --yes carebook

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 carebook
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=carebook:carebook . /app
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 CAREBOOK_ENV=production FLASK_APP=wsgi \
    CAREBOOK_INSTANCE_PATH=/tmp/carebook
USER carebook
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# Migrations are a separate one-off step of each deployment: `flask db upgrade`.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
