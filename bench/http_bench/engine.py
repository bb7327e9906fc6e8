"""The in-process slot engine figure: bench/slot_engine.py in its own process, its median read back."""
from __future__ import annotations

import re
import subprocess
import sys

from .settings import ROOT


def run_slot_engine(runs: int) -> float | None:
    """bench/slot_engine.py in its own process (after gunicorn stopped); returns its median ms."""
    script = ROOT / "bench" / "slot_engine.py"
    if not script.exists():
        print("  (bench/slot_engine.py not found)")
        return None
    completed = subprocess.run([sys.executable, str(script), "--runs", str(runs)], cwd=ROOT,
                               capture_output=True, text=True)
    output = (completed.stdout + completed.stderr).rstrip()
    print("\n".join("  " + line for line in output.splitlines()))
    match = re.search(r"all doctors \(ms\)\s+([\d.]+)", output)
    return float(match.group(1)) if match else None
