#!/usr/bin/env python3
"""Set up the project's virtual environment if needed, then run the demo or the test suite.

    python3 dev.py demo     # sample world -> every asset for every sample month, through Dagster
    python3 dev.py test     # the whole test suite (what .ci/run runs)

Needs only Python 3.11+. The environment lives in .venv and is reinstalled when pyproject.toml changes.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"Python 3.11+ is required (this is {sys.version.split()[0]})")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing billing_assets with its dev dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in ("demo", "test"):
        print(__doc__)
        return 2
    ensure_environment()
    if command == "demo":
        return subprocess.run([str(BIN / "billing-assets"), "demo", *sys.argv[2:]], cwd=ROOT).returncode
    code = subprocess.run([str(BIN / "python"), "-m", "pytest", *sys.argv[2:]], cwd=ROOT).returncode
    if code == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
