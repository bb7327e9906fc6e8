"""Reading and linting the CloudFormation templates in infra/, for the stack tests beside this file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def load(name: str) -> dict:
    """infra/<name> parsed as cfn-lint reads it (short-form intrinsics such as !Sub included)."""
    from cfnlint.decode import decode

    parsed, errors = decode(str(INFRA / name))
    assert not errors, errors
    return parsed


def lint(name: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of cfn-lint over infra/<name>, informational checks included."""
    # cfn-lint's own entry point (the package has no __main__), run as its console script does.
    command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
               "--include-checks", "I", "--", str(INFRA / name)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def of_type(resources: dict, kind: str) -> dict:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}
