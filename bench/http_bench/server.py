"""The app servers under test: gunicorn started as production runs it, checked, stopped, and
its log read for errors afterwards."""
from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .settings import ROOT, TRIVIAL_CANDIDATES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn_binary() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "gunicorn", Path(sys.executable).parent / "gunicorn"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("gunicorn")
    if not found:
        raise SystemExit("gunicorn not found: .venv/bin/pip install gunicorn")
    return found


class Gunicorn:
    """gunicorn as production runs it: the Dockerfile's command and gunicorn.conf.py, with the
    bind address, worker count and timeouts set through the config file's environment variables."""

    def __init__(self, workers: int, port: int, env: dict, log_path: Path):
        self.command = [_gunicorn_binary(), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
                    "GUNICORN_TIMEOUT": "60", "GUNICORN_GRACEFUL_TIMEOUT": "5"}
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None

    def describe(self) -> str:
        settings = ", ".join(f"{k}={self.env[k]}" for k in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT"))
        return f"gunicorn -c gunicorn.conf.py wsgi:app ({settings})"

    def get_status(self, path: str) -> int | None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                head = sock.recv(64)
        except OSError:
            return None
        return int(head[9:12]) if head.startswith(b"HTTP/1.") and head[9:12].isdigit() else None

    def start(self) -> None:
        # Access and error lines (JSON) go to the log file; problems() reads it afterwards.
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.get_status("/api/csrf-token") == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /api/csrf-token with 200 within 60 s:\n{self.log_tail()}")

    def trivial_path(self) -> str:
        for path in TRIVIAL_CANDIDATES:
            if self.get_status(path) == 200:
                return path
        raise RuntimeError(f"none of {', '.join(TRIVIAL_CANDIDATES)} answers 200")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        print("  gunicorn stopped", flush=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def problems(self) -> list[str]:
        """Error lines the server logged (tracebacks, worker timeouts)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines()
                if re.search(r'\[(ERROR|CRITICAL)\]|"level": "(ERROR|CRITICAL)"|Traceback|WORKER TIMEOUT', line)]
