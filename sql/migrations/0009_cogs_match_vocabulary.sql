-- cogs.cost_line_matches states its vocabulary: match methods and unallocated reasons are the values of
-- billing_assets.cogs.matching.MatchMethod / UnallocatedReason, and a line is matched exactly when it
-- has a method other than 'none'. DuckDB cannot add a CHECK to an existing table, so the table is
-- rebuilt and its rows copied (the upgrade test proves none is lost).
CREATE TABLE cogs.cost_line_matches_v2 (
    period_start TIMESTAMP NOT NULL, invoice_uuid VARCHAR NOT NULL, line_number INTEGER NOT NULL,
    product VARCHAR NOT NULL, description VARCHAR NOT NULL, kind VARCHAR NOT NULL, amount_minor BIGINT NOT NULL,
    match_method VARCHAR NOT NULL
        CHECK (match_method IN ('resource_uuid', 'resource_id', 'kubernetes_node', 'name', 'none')),
    resource_id VARCHAR, deployment_id VARCHAR, tenant_id VARCHAR,
    unallocated_reason VARCHAR
        CHECK (unallocated_reason IN ('provider_tax', 'account_level', 'unknown_resource', 'ambiguous_name')),
    PRIMARY KEY (invoice_uuid, line_number),
    CHECK ((deployment_id IS NULL) = (unallocated_reason IS NOT NULL)),
    CHECK ((match_method = 'none') = (deployment_id IS NULL)));
INSERT INTO cogs.cost_line_matches_v2 SELECT * FROM cogs.cost_line_matches;
DROP TABLE cogs.cost_line_matches;
ALTER TABLE cogs.cost_line_matches_v2 RENAME TO cost_line_matches;
