-- The inventory just fetched (`seen_resources`, registered from Python) upserted in one statement: a
-- resource seen before keeps its first_seen_at and takes the new name, size, tags and last_seen_at.
-- A key listed twice in one fetch (a node droplet in two lists) takes its last listing, as a
-- row-by-row upsert would.
INSERT INTO ingest.do_resources
SELECT resource_key, kind, provider_resource_id, provider_uuid, name, size_slug, region, created_at, cluster_uuid,
       tags, $now AS first_seen_at, $now AS last_seen_at
FROM seen_resources
QUALIFY row_number() OVER (PARTITION BY resource_key ORDER BY ordinal DESC) = 1
ON CONFLICT (resource_key) DO UPDATE SET name = excluded.name, size_slug = excluded.size_slug, tags = excluded.tags,
    last_seen_at = excluded.last_seen_at;
