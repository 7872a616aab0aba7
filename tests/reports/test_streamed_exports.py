"""Exports written from a stream of Arrow batches: the same bytes as from one frame, whatever the batches."""

import duckdb
import polars as pl

from billing_assets.exports import write_exports, write_streamed_exports

OPTIONS = {"datetime_format": "%Y-%m-%dT%H:%M:%SZ", "date_format": "%Y-%m-%d"}
QUERY = ("SELECT i AS n, CAST(i AS DECIMAL(38, 2)) / 100 AS amount, 'tenant, \"quoted\"' || i AS label, "
         "TIMESTAMP '2026-04-30 23:00:00' + INTERVAL (i) SECOND AS at, DATE '2026-04-01' AS period_start, "
         "CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS sometimes FROM range(?) t(i)")


def test_many_batches_or_none_write_what_one_frame_writes(tmp_path):
    conn = duckdb.connect()
    for rows in (2_500, 0):
        whole, streamed = tmp_path / f"whole{rows}", tmp_path / f"streamed{rows}"
        write_exports(conn.sql(QUERY, params=[rows]).pl(), whole, "t", csv_options=OPTIONS)
        paths, written = write_streamed_exports(conn.sql(QUERY, params=[rows]).to_arrow_reader(1_000), streamed, "t",
                                                OPTIONS)  # three batches, the last one short
        assert written == rows and [p.name for p in paths] == ["t.parquet", "t.csv"]
        assert (streamed / "t.csv").read_bytes() == (whole / "t.csv").read_bytes()  # one header, every row
        one, many = pl.read_parquet(whole / "t.parquet"), pl.read_parquet(streamed / "t.parquet")
        assert one.schema == many.schema and one.equals(many)
    assert (tmp_path / "streamed0" / "t.csv").read_text().count("\n") == 1  # the header alone
    assert sorted(p.name for p in (tmp_path / "streamed2500").iterdir()) == ["t.csv", "t.parquet"]  # no temp left
