"""`python -m lambda_handler.build` produces a reproducible deployment zip that imports on its own."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lambda_handler import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("dist") / "reminder-lambda.zip"
    result = subprocess.run([sys.executable, "-m", "lambda_handler.build", str(output)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "handler: lambda_handler.handler.handler" in result.stdout
    return output


def test_the_zip_holds_the_package_and_nothing_compiled(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert "lambda_handler/handler.py" in names and "lambda_handler/requirements.txt" in names
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__" in name]


def test_the_zip_holds_the_shared_mail_library(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    expected = {"messaging/__init__.py", "messaging/message.py", "messaging/mailers.py", "messaging/errors.py"}
    assert expected <= set(names)


def test_the_zip_holds_nothing_of_the_web_app(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert {name.split("/")[0] for name in names} == {"lambda_handler", "messaging"}


def test_the_zip_is_reproducible(built_zip, tmp_path):
    again = build.build(tmp_path / "again.zip")
    assert again.read_bytes() == built_zip.read_bytes()


def test_the_handler_runs_from_the_unpacked_zip_alone(built_zip, tmp_path):
    task = tmp_path / "task"
    zipfile.ZipFile(built_zip).extractall(task)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from lambda_handler.handler import handler; "
             "import lambda_handler, messaging; print(lambda_handler.__file__); print(messaging.__file__); "
             "print(handler({'Records': [{'messageId': 'm1', 'body': '{}'}]}, None, services=object()))")
    # -I -S: no project folder, no PYTHONPATH, no site-packages: only the zip and the standard library.
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(task)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(task / "lambda_handler" / "__init__.py"),
                                          str(task / "messaging" / "__init__.py"),
                                          "{'batchItemFailures': [{'itemIdentifier': 'm1'}]}"]


def test_requirements_are_installed_with_pip_for_the_lambda_platform(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\naws-lambda-powertools==3.0.0  # pinned\n")
    calls = []

    def fake_pip(command, check):
        calls.append(command)
        (Path(command[command.index("--target") + 1]) / "powertools.py").write_text("# installed\n")

    monkeypatch.setattr(build.subprocess, "run", fake_pip)
    output = build.build(tmp_path / "out.zip", requirements=requirements)
    [command] = calls
    assert command[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in command and "manylinux2014_x86_64" in command
    assert "powertools.py" in zipfile.ZipFile(output).namelist()


def test_no_requirements_means_no_pip_run(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# boto3 comes with the runtime\n")
    monkeypatch.setattr(build.subprocess, "run", lambda *args, **kwargs: pytest.fail("pip was run"))
    build.build(tmp_path / "out.zip", requirements=requirements)


def test_the_requirements_file_lists_no_runtime_provided_package():
    assert not [line for line in build.requirement_lines() if line.lower().startswith(("boto3", "botocore"))]
