"""scripts/audit-dependencies: it tells "audited, clean", "vulnerable" and "not audited" apart.

pip-audit itself is replaced by a fake interpreter that prints a prepared report, so
the test needs no network.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit-dependencies"


def _fake_python(tmp_path: Path, reports: dict[str, dict | None], installed: list[dict] = ()) -> str:
    """An executable that answers `-m pip_audit --vulnerability-service X ...` with reports[X] (None: a crash),
    and `-m pip list ...` with ``installed``."""
    data = tmp_path / "reports.json"
    data.write_text(json.dumps(reports))
    fake = tmp_path / "python"
    fake.write_text(f"""#!{sys.executable}
import json, sys
if sys.argv[1:3] == ["-m", "pip"]:
    print(json.dumps({list(installed)!r}))
    sys.exit(0)
service = sys.argv[sys.argv.index("--vulnerability-service") + 1]
report = json.load(open({str(data)!r}))[service]
if report is None:
    sys.stderr.write("requests.exceptions.ConnectionError: could not resolve the host\\n")
    sys.exit(1)
print(json.dumps(report))
""")
    fake.chmod(0o755)
    return str(fake)


def _run(tmp_path, reports, installed=(), project_url="http://127.0.0.1:9/pypi/{name}/json", **env):
    return subprocess.run([sys.executable, str(SCRIPT), _fake_python(tmp_path, reports, installed)],
                          capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PIP_AUDIT_PROJECT_URL": project_url, **env})


@pytest.fixture
def project_pages():
    """A stand-in for PyPI's project pages: {normalised name: page}; the URL template to give the script."""
    pages: dict[str, dict] = {}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.split("/")[2]
            body = json.dumps(pages[name]).encode() if name in pages else b"{}"
            self.send_response(200 if name in pages else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield pages, f"http://127.0.0.1:{server.server_port}/pypi/{{name}}/json"
    server.shutdown()


def page(latest: str, *vulnerability_ids: str) -> dict:
    return {"info": {"version": latest},
            "vulnerabilities": [{"id": vid, "fixed_in": [], "withdrawn": None} for vid in vulnerability_ids]}


NOT_ON_PYPI = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI"}]}
CLEAN = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}
VULNERABLE = {"dependencies": [{"name": "flask", "version": "0.1", "vulns": [
    {"id": "PYSEC-0000-1", "fix_versions": ["3.1.3"], "description": "x"}]}]}


def test_nothing_reachable_says_not_audited_without_failing(tmp_path):
    run = _run(tmp_path, {"pypi": NOT_ON_PYPI, "osv": None})
    assert run.returncode == 0
    assert "NOT AUDITED" in run.stdout and "pypi: answered for none of 1" in run.stdout
    assert "osv: unreachable" in run.stdout and "no known vulnerabilities" not in run.stdout


def test_not_audited_fails_where_a_service_is_required(tmp_path):
    assert _run(tmp_path, {"pypi": NOT_ON_PYPI, "osv": None}, PIP_AUDIT_REQUIRED="true").returncode == 2


@pytest.mark.parametrize("reports", [{"pypi": CLEAN, "osv": None}, {"pypi": NOT_ON_PYPI, "osv": CLEAN}])
def test_a_clean_audit_passes_and_says_how_much_was_audited(tmp_path, reports):
    run = _run(tmp_path, reports)
    assert run.returncode == 0 and "1 packages audited" in run.stdout and "no known vulnerabilities" in run.stdout


def test_a_vulnerable_dependency_fails(tmp_path):
    run = _run(tmp_path, {"pypi": VULNERABLE, "osv": None})
    assert run.returncode == 1 and "VULNERABLE flask 0.1: PYSEC-0000-1 (fixed in: 3.1.3)" in run.stdout


UNREACHABLE = {"pypi": NOT_ON_PYPI, "osv": None}
INSTALLED = [{"name": "Flask", "version": "3.1.3"}, {"name": "SQLAlchemy", "version": "2.0.58"}]


def test_without_the_services_packages_at_their_latest_release_are_audited_from_the_project_pages(
        tmp_path, project_pages):
    pages, url = project_pages
    pages.update(flask=page("3.1.3"), sqlalchemy=page("2.1.9"))
    run = _run(tmp_path, UNREACHABLE, INSTALLED, url)
    assert run.returncode == 0, run.stdout
    assert "1 of 2 packages audited" in run.stdout and "no known vulnerabilities in the packages audited" in run.stdout
    assert "older than their latest release: SQLAlchemy 2.0.58 (latest 2.1.9)" in run.stdout


def test_a_vulnerability_of_the_latest_release_fails_the_run(tmp_path, project_pages):
    pages, url = project_pages
    pages.update(flask=page("3.1.3", "PYSEC-2026-1"), sqlalchemy=page("2.0.58"))
    run = _run(tmp_path, UNREACHABLE, INSTALLED, url)
    assert run.returncode == 1 and "VULNERABLE Flask 3.1.3: PYSEC-2026-1 (fixed in: no fixed version yet)" in run.stdout


def test_packages_left_unaudited_fail_where_an_audit_is_required(tmp_path, project_pages):
    pages, url = project_pages
    pages.update(flask=page("3.1.3"))  # no page for SQLAlchemy
    run = _run(tmp_path, UNREACHABLE, INSTALLED, url, PIP_AUDIT_REQUIRED="true")
    assert run.returncode == 2 and "no project page: SQLAlchemy" in run.stdout
