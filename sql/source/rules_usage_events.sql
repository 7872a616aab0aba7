-- Rules of meaning over typed_usage_events: implausible quantities, and one idempotency key carried by
-- events of different content: a retry repeats the deployment, metric and quantity (its timestamps may
-- be new, and the first received copy wins in metering); a key reused for another deployment, metric
-- or quantity is refused, all copies, never silently deduplicated. Negative quantities are left to
-- metering (revenue.usage_rejections).
SELECT 'usage_events', _pk, 'quantity', CAST(quantity AS VARCHAR), 'implausibly large quantity'
FROM typed_usage_events WHERE quantity > (SELECT max_event_quantity FROM limits)
UNION ALL
SELECT 'usage_events', e._pk, 'idempotency_key', e.idempotency_key,
       'conflicting duplicate: the key is also used by an event with another deployment, metric or quantity'
FROM typed_usage_events e
JOIN (SELECT idempotency_key FROM typed_usage_events  -- only repeated keys can conflict: count them first
      SEMI JOIN (SELECT idempotency_key FROM typed_usage_events GROUP BY 1 HAVING count(*) > 1) USING (idempotency_key)
      GROUP BY 1 HAVING count(DISTINCT (deployment_id, metric, quantity)) > 1) c USING (idempotency_key)
