"""Writing Parquet/CSV exports atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

# Rows per Arrow batch handed to write_exports: an `_all` analyst export holds a table's whole history
# and a FOCUS month 900,000 lines at 100,000 tenants; as one frame each made its step the close's peak.
EXPORT_BATCH_ROWS = 100_000


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


def write_exports(batches: pa.RecordBatchReader, folder: Path, stem: str, csv: bool = True,
                  csv_options: dict | None = None) -> tuple[list[Path], int]:
    """`stem`.parquet (and .csv, written by polars with `csv_options`) from a stream of Arrow batches, one
    batch in memory at a time (a table's whole history can outgrow what the process should hold), each
    file written to a temporary name and renamed into place. Returns the files and the rows written."""
    files = [folder / f"{stem}.parquet", *([folder / f"{stem}.csv"] if csv else [])]
    rows = 0
    with ExitStack() as stack:
        parquet = stack.enter_context(pq.ParquetWriter(stack.enter_context(atomic_path(files[0])), batches.schema,
                                                       compression="zstd"))
        text = stack.enter_context(open(stack.enter_context(atomic_path(files[1])), "wb")) if csv else None
        if text:
            pl.from_arrow(batches.schema.empty_table()).write_csv(text, **(csv_options or {}))  # the header
        for batch in batches:
            parquet.write_batch(batch)
            if text:
                pl.from_arrow(batch).write_csv(text, include_header=False, **(csv_options or {}))
            rows += batch.num_rows
    return files, rows


def replace_atomically(path: Path, content: bytes) -> Path:
    """Write `content` to `path` under a temporary name and rename it into place."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return path
