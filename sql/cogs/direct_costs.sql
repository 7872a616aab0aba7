-- Matched and unmatched cost per month, deployment and kind for [$window_start, $window_end).
SELECT period_start, tenant_id, deployment_id, kind AS resource_kind,
       CASE WHEN deployment_id IS NULL THEN 'unallocated' ELSE 'direct' END AS cost_type,
       unallocated_reason, sum(amount_minor) AS amount_minor, count(*) AS line_count
FROM cogs.cost_line_matches
WHERE period_start >= $window_start AND period_start < $window_end
GROUP BY ALL
ORDER BY period_start, cost_type, tenant_id, deployment_id, resource_kind, unallocated_reason
