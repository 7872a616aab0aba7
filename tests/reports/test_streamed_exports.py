"""Exports written from a stream of Arrow batches: what polars writes from the whole frame, whatever the
batches."""

import duckdb
import polars as pl

from billing_assets.exports import write_exports

OPTIONS = {"datetime_format": "%Y-%m-%dT%H:%M:%SZ", "date_format": "%Y-%m-%d"}
QUERY = ("SELECT i AS n, CAST(i AS DECIMAL(38, 2)) / 100 AS amount, 'tenant, \"quoted\"' || i AS label, "
         "TIMESTAMP '2026-04-30 23:00:00' + INTERVAL (i) SECOND AS at, DATE '2026-04-01' AS period_start, "
         "CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS sometimes FROM range(?) t(i)")


def test_many_batches_or_none_write_what_one_frame_writes(tmp_path):
    conn = duckdb.connect()
    for rows in (2_500, 0):
        whole, streamed = tmp_path / f"whole{rows}", tmp_path / f"streamed{rows}"
        frame = conn.sql(QUERY, params=[rows]).pl()
        whole.mkdir()
        frame.write_parquet(whole / "t.parquet")
        frame.write_csv(whole / "t.csv", **OPTIONS)
        paths, written = write_exports(conn.sql(QUERY, params=[rows]).to_arrow_reader(1_000), streamed, "t",
                                       csv_options=OPTIONS)  # three batches, the last one short
        assert written == rows and paths == [streamed / "t.parquet", streamed / "t.csv"]
        assert (streamed / "t.csv").read_bytes() == (whole / "t.csv").read_bytes()  # one header, every row
        one, many = pl.read_parquet(whole / "t.parquet"), pl.read_parquet(streamed / "t.parquet")
        assert one.schema == many.schema and one.equals(many)
    assert (tmp_path / "streamed0" / "t.csv").read_text().count("\n") == 1  # the header alone
    assert sorted(p.name for p in (tmp_path / "streamed2500").iterdir()) == ["t.csv", "t.parquet"]  # no temp left
    parquet_only, _ = write_exports(conn.sql(QUERY, params=[10]).to_arrow_reader(1_000), tmp_path / "focus", "t",
                                    csv=False)
    assert parquet_only == [tmp_path / "focus" / "t.parquet"] and not (tmp_path / "focus" / "t.csv").exists()
