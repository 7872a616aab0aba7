"""Writing Parquet/CSV exports atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl


def write_exports(frame: pl.DataFrame, folder: Path, stem: str, csv: bool = True) -> list[Path]:
    """`stem`.parquet (and .csv) in `folder`, each written to a temporary name and renamed into place."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".parquet", ".csv") if csv else (".parquet",):
        final = folder / f"{stem}{suffix}"
        tmp = folder / f".{stem}{suffix}.tmp"
        if suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            frame.write_csv(tmp)
        os.replace(tmp, final)
        written.append(final)
    return written
