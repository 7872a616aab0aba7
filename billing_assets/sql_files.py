"""SQL lives in sql/ at the repository root and ships inside the wheel as the package
`billing_assets.sql`, so it is read with importlib.resources, never through a path relative to
this file (which breaks as soon as the package is installed rather than checked out)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

SQL_PACKAGE = "billing_assets.sql"


def sql_folder(relative: str = "") -> Traversable:
    folder = files(SQL_PACKAGE)
    for part in filter(None, relative.split("/")):
        folder = folder / part
    return folder


@cache
def read_sql(relative: str) -> str:
    """The text of sql/<relative>; a missing file names itself and where it was looked for."""
    path = sql_folder(relative)
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {relative!r} not found in package {SQL_PACKAGE} ({files(SQL_PACKAGE)})")
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
