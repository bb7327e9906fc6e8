"""scripts/run's address: HOST and PORT choose it, and the emails it writes link to it."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _base_url(**env: str) -> str:
    clean = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT", "BASE_URL")}
    result = subprocess.run(["bash", "-c", '. scripts/embedded-env && printf %s "$BASE_URL"'], cwd=ROOT,
                            env={**clean, **env}, capture_output=True, text=True, check=True)
    return result.stdout


def test_the_emails_link_to_the_default_address():
    assert _base_url() == "http://127.0.0.1:5000"


def test_the_emails_link_to_the_port_the_app_runs_on():
    assert _base_url(PORT="8123") == "http://127.0.0.1:8123"


def test_a_base_url_that_is_set_wins():
    assert _base_url(PORT="8123", BASE_URL="https://clinic.example") == "https://clinic.example"


def test_the_run_script_reads_its_address_from_there():
    assert ". scripts/embedded-env" in (ROOT / "scripts" / "run").read_text()
