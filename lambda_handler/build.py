"""Build the reminder function's deployment zip.

    python -m lambda_handler.build dist/reminder-lambda.zip

Installs ``lambda_handler/requirements.txt`` (if it names anything) into a temporary
folder with pip, adds the ``lambda_handler`` package and the ``messaging`` package it
imports (a few kB of standard-library code; nothing else of the repository), and
writes a zip whose bytes depend only on its inputs (sorted entries, fixed timestamps
and permissions), so the same source gives the same zip and CloudFormation sees no
change when there is none. The function's handler setting is
``lambda_handler.handler.handler``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REQUIREMENTS = PACKAGE_DIR / "requirements.txt"
#: The packages the zip carries: the function, and the mail library it shares with the web app.
PACKAGES = ("lambda_handler", "messaging")
HANDLER = "lambda_handler.handler.handler"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}


def requirement_lines(path: Path = REQUIREMENTS) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def pip_command(target: Path, requirements: Path) -> list[str]:
    # Wheels for the Lambda platform only: a package that would compile here could
    # not run there.
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--target", str(target), "--requirement", str(requirements),
            "--platform", "manylinux2014_x86_64", "--implementation", "cp",
            "--python-version", "3.11", "--only-binary=:all:"]


def build(output: Path, requirements: Path = REQUIREMENTS) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reminder-lambda-") as workdir:
        staging = Path(workdir)
        if requirement_lines(requirements):
            subprocess.run(pip_command(staging, requirements), check=True)
        files = {path.relative_to(staging).as_posix(): path for path in staging.rglob("*") if _included(path)}
        for package in PACKAGES:
            package_dir = PACKAGE_DIR.parent / package
            for path in package_dir.rglob("*"):
                if _included(path):
                    files[f"{package}/{path.relative_to(package_dir).as_posix()}"] = path
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name].read_bytes())
    return output


def _included(path: Path) -> bool:
    return (path.is_file() and not EXCLUDED_PARTS.intersection(path.parts)
            and path.suffix not in EXCLUDED_SUFFIXES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the reminder function's deployment zip.")
    parser.add_argument("output", nargs="?", default="dist/reminder-lambda.zip", type=Path)
    args = parser.parse_args(argv)
    path = build(args.output)
    print(f"Wrote {path} ({path.stat().st_size} bytes); handler: {HANDLER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
