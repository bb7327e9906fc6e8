"""scripts/audit-dependencies: it tells "audited, clean", "vulnerable" and "not audited" apart.

pip-audit itself is replaced by a fake interpreter that prints a prepared report, so
the test needs no network.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit-dependencies"


def _fake_python(tmp_path: Path, reports: dict[str, dict | None]) -> str:
    """An executable that answers `-m pip_audit --vulnerability-service X ...` with reports[X] (None: a crash)."""
    data = tmp_path / "reports.json"
    data.write_text(json.dumps(reports))
    fake = tmp_path / "python"
    fake.write_text(f"""#!{sys.executable}
import json, sys
service = sys.argv[sys.argv.index("--vulnerability-service") + 1]
report = json.load(open({str(data)!r}))[service]
if report is None:
    sys.stderr.write("requests.exceptions.ConnectionError: could not resolve the host\\n")
    sys.exit(1)
print(json.dumps(report))
""")
    fake.chmod(0o755)
    return str(fake)


def _run(tmp_path, reports, **env):
    return subprocess.run([sys.executable, str(SCRIPT), _fake_python(tmp_path, reports)], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", **env})


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
