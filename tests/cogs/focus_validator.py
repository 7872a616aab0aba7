"""The FinOps Foundation's `focus-validator`, run in a venv of its own (it needs Python >= 3.12; the
project supports 3.11), pinned, offline against the FOCUS 1.2 rule set it ships.

Used by tests/cogs/test_cogs_assets.py; by hand:
    python -m tests.cogs.focus_validator exports/focus/focus_cost_rows_2026-04.parquet
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
from pathlib import Path

PINS = ["focus-validator==2.2.1", "pyarrow<22"]  # pyarrow 22 breaks the validator's NumPy pin
VENV = Path(__file__).resolve().parents[2] / ".billing" / "focus-validator"
# What DigitalOcean supports, so the rules for it apply (README, "FOCUS export"): team names, a public
# price list with unit prices, metered usage, projects as sub-accounts, billing by provisioned
# resource, resource types, regions and tags. Not: zones, commitments, capacity reservations,
# negotiated prices, several pricing categories, account or sub-account types, pricing in another
# currency than billing, virtual currencies.
APPLICABILITY = ["ACCOUNT_NAMING_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED", "USAGE_MEASUREMENT_SUPPORTED",
                 "UNIT_PRICING_SUPPORTED", "SUB_ACCOUNT_SUPPORTED", "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED",
                 "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED", "REGION_SUPPORTED", "TAGGING_SUPPORTED"]
FAILED = re.compile(r"^❌ (\S+): FAIL", re.MULTILINE)
SUMMARY = re.compile(r"Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)")


def python_312() -> str | None:
    """A Python >= 3.12 on this machine: on PATH, or one pyenv holds."""
    for name in ("python3.14", "python3.13", "python3.12"):
        found = shutil.which(name)
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    held = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.1[2-9]*" / "bin" / "python")))
    return held[-1] if held else None


def ensure_venv(python: str) -> Path:
    """The validator's venv, made once per checkout (pins recorded beside it)."""
    marker = VENV / "pins.txt"
    if not (marker.exists() and marker.read_text() == "\n".join(PINS)):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PINS], check=True)
        marker.write_text("\n".join(PINS))
    return VENV


def run(venv: Path, parquet: Path) -> tuple[set[str], tuple[int, ...], str]:
    """(failed rule ids, (total, pass, fail, skipped), console output) for one file. The validator
    reads its currency list by a path relative to its own package, so it runs from site-packages."""
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import focus_validator, pathlib; "
                           "print(pathlib.Path(focus_validator.__file__).parents[1])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run([str(venv / "bin" / "focus-validator"), "--data-file", str(parquet.resolve()),
                           "--validate-version", "1.2", "--block-download", "--output-type", "console",
                           "--applicability-criteria", ",".join(APPLICABILITY)],
                          cwd=site, capture_output=True, text=True, timeout=600)
    summary = SUMMARY.search(done.stdout)
    if done.returncode != 0 or not summary:
        raise RuntimeError(f"focus-validator did not run on {parquet}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return set(FAILED.findall(done.stdout)), tuple(int(n) for n in summary.groups()), done.stdout


if __name__ == "__main__":
    python = python_312() or sys.exit("focus-validator needs Python >= 3.12 and none is installed")
    venv = ensure_venv(python)
    for path in sys.argv[1:]:
        failed, counts, _ = run(venv, Path(path))
        print(path, "total/pass/fail/skipped", counts, "failed:", sorted(failed))
