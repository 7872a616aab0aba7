"""Writing Parquet/CSV exports atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq


def write_exports(table: pa.Table, folder: Path, stem: str, csv: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in (".parquet", ".csv") if csv else (".parquet",):
        final = folder / f"{stem}{suffix}"
        tmp = folder / f".{stem}{suffix}.tmp"
        if suffix == ".parquet":
            pq.write_table(table, tmp)
        else:
            pa_csv.write_csv(table, tmp)
        os.replace(tmp, final)
        written.append(final)
    return written
