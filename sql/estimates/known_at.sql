-- The source as it was known at $as_of, inside the estimate's transaction (always rolled back): usage
-- events received later and resources created later were not known yet, and a resource deleted later
-- was still running (so, like every running resource, it is projected to run to month end). For the
-- hourly run (as_of = now) nothing matches; for a replay of an earlier hour it removes what came after.
-- The catalogue, subscriptions and budgets are the current snapshot's.
DELETE FROM staging.usage_events WHERE received_at >= $as_of;
DELETE FROM staging.cloud_resources WHERE created_at >= $as_of;
UPDATE staging.cloud_resources SET deleted_at = NULL WHERE deleted_at > $as_of;
