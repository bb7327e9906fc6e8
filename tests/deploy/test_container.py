"""The image, without Docker: the Dockerfile's own install and start commands, and its settings.

CI machines cannot run Docker, so these tests read the Dockerfile and run what it runs: its
install of the dependency lock (replayed against this environment), gunicorn with
gunicorn.conf.py exactly as its CMD says, against a migrated PostgreSQL database, and its
HEALTHCHECK command against that server.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from importlib import metadata
from pathlib import Path

import psycopg
import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sqlalchemy import make_url

from tests.conftest import POSTGRES_PROBLEM, POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def one(stage, keyword: str) -> str:
    [value] = [rest for kw, rest in stage if kw == keyword]
    return value


def image_env() -> dict[str, str]:
    env = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


# -- the Dockerfile itself ------------------------------------------------------------------------


def test_the_image_is_built_in_stages_and_the_runtime_stage_gets_no_build_tools():
    froms = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert len(froms) >= 2 and " AS build" in froms[0]
    runtime = final_stage()
    assert not [rest for keyword, rest in runtime if keyword == "RUN" and "pip install" in rest]
    assert any(keyword == "COPY" and "--from=build" in rest and "/venv" in rest for keyword, rest in runtime)


def test_the_container_runs_as_a_non_root_user():
    user = one(final_stage(), "USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    # ... and the user it names is created in the same stage.
    assert any(keyword == "RUN" and "useradd" in rest and user in rest for keyword, rest in final_stage())


def test_the_container_starts_gunicorn_with_the_config_file_and_never_migrates():
    command = json.loads(one(final_stage(), "CMD"))
    assert command == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert not [rest for keyword, rest in final_stage()
                if keyword in ("CMD", "ENTRYPOINT") and "upgrade" in rest]
    assert image_env()["CAREBOOK_ENV"] == "production"


def test_the_health_check_asks_the_liveness_probe():
    healthcheck = one(final_stage(), "HEALTHCHECK")
    assert "--interval=" in healthcheck and "--timeout=" in healthcheck and "/healthz" in healthcheck


def test_the_build_context_leaves_out_secrets_virtualenvs_and_tests():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "instance", "tests", ".env"} <= ignored


def build_stage_install() -> list[str]:
    """pip's arguments in the build stage's dependency install (what follows ``pip install``)."""
    [run] = [rest for keyword, rest in instructions() if keyword == "RUN" and "pip install" in rest]
    [command] = [part for part in run.split("&&") if "pip install" in part]
    words = shlex.split(command)
    return words[words.index("install") + 1:]


def locked_pins(lock: Path) -> dict[str, str]:
    """{name: version} of the lock's pins whose markers hold on this machine."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if match and (match.group(3) is None or Marker(match.group(3)).evaluate()):
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_the_image_installs_the_runtime_lock_with_hashes_in_a_layer_of_its_own():
    arguments = build_stage_install()
    assert "--require-hashes" in arguments and arguments[arguments.index("-r") + 1] == "requirements/runtime.txt"
    # The layer is rebuilt when the lock changes, and only then: the lock is all that is copied before it.
    steps = instructions()
    install = next(i for i, (keyword, rest) in enumerate(steps) if keyword == "RUN" and "pip install" in rest)
    copied = [shlex.split(rest)[:-1] for keyword, rest in steps[:install] if keyword == "COPY"]
    assert copied == [["requirements/runtime.txt"]]


def test_the_dependencies_the_image_installs_are_the_ones_this_environment_runs():
    # The Dockerfile's own install command, replayed here with no index to download from: it
    # passes only if the lock is well formed in hash-checking mode and this environment already
    # holds every pin that applies to it.
    command = [sys.executable, "-m", "pip", "install", *build_stage_install(), "--dry-run", "--no-index", "--quiet"]
    replay = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    pins = locked_pins(ROOT / "requirements" / "runtime.txt")
    assert {"flask", "gunicorn", "psycopg", "sqlalchemy"} <= set(pins)
    for name, version in pins.items():
        assert metadata.version(name) == version, (name, version)
    # ... and the lock is setup.cfg's requirements, each pinned within its range.
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    for line in config["options"]["install_requires"].split("\n"):
        if line.strip():
            requirement = Requirement(line)
            assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)], prereleases=True), \
                requirement


# -- gunicorn.conf.py ------------------------------------------------------------------------------


def load_gunicorn_config(**env) -> dict:
    import runpy

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_workers_are_two_per_cpu_plus_one_and_can_be_overridden():
    config = load_gunicorn_config()
    assert config["workers"] == 2 * config["available_cpus"]() + 1
    assert [config["default_workers"](cpus) for cpus in (1, 2, 4)] == [3, 5, 9]
    assert load_gunicorn_config(GUNICORN_WORKERS="7")["workers"] == 7


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "150000 100000\n"}, 2),         # cgroup v2, 1.5 CPUs
    ({"cpu.max": "max 100000\n"}, None),         # no quota: the CPUs we may run on
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
])
def test_the_cpu_count_follows_the_containers_quota(tmp_path, files, expected):
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    cpus = load_gunicorn_config()["available_cpus"](str(tmp_path))
    assert cpus == (expected if expected is not None else len(os.sched_getaffinity(0)))


def test_gunicorn_settings_for_production():
    config = load_gunicorn_config()
    assert config["worker_class"] == "sync" and config["timeout"] == 30
    assert config["graceful_timeout"] < 30  # inside ECS's stop timeout
    assert config["accesslog"] == "-" and config["logger_class"] == "carebook.logging_setup.GunicornLogger"
    assert config["bind"] == "0.0.0.0:8000" and config["preload_app"] is True


# -- the start command, run ---------------------------------------------------------------------------


#: What production requires besides the image's own ENV lines (infra/production.yaml sets these); no
#: mail is sent here, so the SMTP server need not exist.
STACK_SETTINGS = {"BASE_URL": "https://clinic.example", "SMTP_HOST": "mail.clinic.example"}


@pytest.fixture(scope="module")
def migrated_database():
    if POSTGRES_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {POSTGRES_PROBLEM}")
    name = f"carebook_deploy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        env = {**os.environ, **image_env(), **STACK_SETTINGS, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
               "SECRETS_ENCRYPTION_KEYS": secrets.token_hex(32), "CAREBOOK_INSTANCE_PATH": "/tmp/carebook-deploy-test",
               "PYTHONPATH": str(ROOT)}
        # The deployment's migration step, as the one-off task runs it.
        subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
        yield url
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server(migrated_database, tmp_path_factory):
    port = free_port()
    env = {**os.environ, **image_env(), **STACK_SETTINGS, "DATABASE_URL": migrated_database,
           "SECRET_KEY": secrets.token_hex(32), "SECRETS_ENCRYPTION_KEYS": secrets.token_hex(32),
           "CAREBOOK_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": "2", "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("STATIC_MANIFEST", None)
    log = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    command = json.loads(one(final_stage(), "CMD"))  # exactly the image's start command
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"gunicorn did not answer within 60 s:\n{log.read_text()}")
        yield {"base": base, "env": env, "log": log, "process": process}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_started_server_is_alive_and_ready(server):
    assert get(server["base"] + "/healthz")[0] == 200
    status, _, body = get(server["base"] + "/readyz")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_the_images_health_check_command_passes_against_it(server):
    healthcheck = one(final_stage(), "HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
    assert subprocess.run(command, env=server["env"], timeout=10).returncode == 0


def test_it_logs_json_access_lines_with_the_request_id_and_without_the_query_string(server):
    status, headers, _ = get(server["base"] + "/healthz?email=someone%40mailbox.org",
                             {"X-Request-ID": "deploy-test-0001"})
    assert status == 200 and headers["X-Request-ID"] == "deploy-test-0001"
    # gunicorn writes the access line after the response: wait for it (a busy machine is slow), not a fixed time.
    deadline = time.monotonic() + 30
    while True:
        complete = server["log"].read_text().split("\n")[:-1]  # not a line still being written
        lines = [json.loads(line) for line in complete if line.startswith("{")]
        matching = [line for line in lines if line.get("request_id") == "deploy-test-0001"]
        if matching or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    [access] = matching
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)
    assert "mailbox.org" not in server["log"].read_text()


def test_sigterm_stops_it_gracefully(server):
    process = server["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
