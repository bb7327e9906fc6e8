"""The import rules of the README's "Layout" hold: import-linter checks the contracts in setup.cfg."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    # In a process of its own: it imports nothing of the app, and its cache stays out of the tree.
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_import_contract_is_kept():
    result = _lint_imports(ROOT / "setup.cfg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_is_reported(tmp_path):
    config = tmp_path / "contracts.ini"
    config.write_text("[importlinter]\nroot_packages =\n    portal\n    carebook\n\n"
                      "[importlinter:contract:upside-down]\nname = the web layer imports no core\n"
                      "type = forbidden\nsource_modules =\n    portal\nforbidden_modules =\n    carebook\n")
    result = _lint_imports(config)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout
