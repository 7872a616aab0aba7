"""Writing Parquet/CSV exports atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary name beside `final` to write to; renamed onto `final` when the block succeeds, so a
    reader sees the old file or the new one, never half of one."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write leaves the old file and nothing else
        raise
    os.replace(tmp, final)


def write_exports(frame: pl.DataFrame, folder: Path, stem: str, csv: bool = True,
                  csv_options: dict | None = None) -> list[Path]:
    """`stem`.parquet (and .csv, written with polars' `csv_options`) in `folder`, each written to a
    temporary name and renamed into place."""
    written = []
    for suffix in (".parquet", ".csv") if csv else (".parquet",):
        final = folder / f"{stem}{suffix}"
        with atomic_path(final) as tmp:
            if suffix == ".parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_csv(tmp, **(csv_options or {}))
        written.append(final)
    return written


def write_streamed_exports(batches: pa.RecordBatchReader, folder: Path, stem: str,
                           csv_options: dict | None = None) -> tuple[list[Path], int]:
    """`stem`.parquet and .csv from a stream of Arrow batches, one batch in memory at a time (a table's
    whole history can outgrow what the process should hold), each written to a temporary name and
    renamed into place. Returns the files and the rows written."""
    parquet, csv = folder / f"{stem}.parquet", folder / f"{stem}.csv"
    rows = 0
    with (atomic_path(parquet) as parquet_tmp, atomic_path(csv) as csv_tmp,
          pq.ParquetWriter(parquet_tmp, batches.schema, compression="zstd") as parquet_file,
          open(csv_tmp, "wb") as csv_file):
        pl.from_arrow(batches.schema.empty_table()).write_csv(csv_file, **(csv_options or {}))  # the header
        for batch in batches:
            parquet_file.write_batch(batch)
            pl.from_arrow(batch).write_csv(csv_file, include_header=False, **(csv_options or {}))
            rows += batch.num_rows
    return [parquet, csv], rows


def replace_atomically(path: Path, content: bytes) -> Path:
    """Write `content` to `path` under a temporary name and rename it into place."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return path
