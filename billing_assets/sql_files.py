"""SQL lives in sql/ at the repository root (shipped inside the package as billing_assets/sql)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_ROOT = Path(__file__).resolve().parent.parent / "sql"


@cache
def read_sql(relative: str) -> str:
    path = SQL_ROOT / relative
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {relative!r} not found under {SQL_ROOT}")
    return path.read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    """Split a script on semicolons at line ends; our SQL files keep one statement per `;` line end."""
    parts, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip().rstrip(";").strip()
            if text:
                parts.append(text)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        parts.append(tail)
    return parts
