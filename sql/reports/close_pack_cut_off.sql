-- What the close pack's data is as of: the source snapshot and the DigitalOcean documents behind the month.
SELECT (SELECT max(snapshot_at) FROM staging.snapshot_log) AS source_snapshot_at,
       (SELECT max(fetched_at) FROM ingest.do_invoices WHERE period_start = $month_start) AS digitalocean_fetched_at,
       (SELECT max(computed_at) FROM revenue.tenant_invoices WHERE period_start = $month_start) AS invoices_computed_at
