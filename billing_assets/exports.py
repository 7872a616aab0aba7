"""Writing Parquet/CSV exports atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl


def write_exports(frame: pl.DataFrame, folder: Path, stem: str, csv: bool = True,
                  csv_options: dict | None = None) -> list[Path]:
    """`stem`.parquet (and .csv, written with polars' `csv_options`) in `folder`, each written to a
    temporary name and renamed into place."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".parquet", ".csv") if csv else (".parquet",):
        final = folder / f"{stem}{suffix}"
        tmp = folder / f".{stem}{suffix}.tmp"
        if suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            frame.write_csv(tmp, **(csv_options or {}))
        os.replace(tmp, final)
        written.append(final)
    return written


def replace_atomically(path: Path, content: bytes) -> Path:
    """Write `content` to `path` under a temporary name and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path
