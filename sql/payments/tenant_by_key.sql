-- The tenant an operator named, by id (any case) or by slug: one row, or none.
SELECT tenant_id, slug
FROM staging.tenants
WHERE tenant_id = lower(trim($key)) OR slug = trim($key)
