-- The USD conversion rule in SQL, once: minor units of a currency with `exponent` decimals at
-- `usd_per_unit`, as US cents: amount x rate x 10^(2 - exponent), half away from zero, in DECIMAL
-- throughout (no DOUBLE: pow() and division are avoided on purpose); USD converts at 1, whatever the
-- rate table says. Run before a query that calls usd_minor(...) (marts/revenue_lines.sql,
-- collections/receivables_aging.sql). The running month's estimate applies the same rule in Python
-- (revenue/estimates/projection.py to_usd_minor); tests/margin/test_usd_minor.py holds the two equal.
CREATE OR REPLACE TEMP MACRO usd_minor(amount_minor, currency, usd_per_unit, exponent) AS
    CAST(round(amount_minor * CASE WHEN currency = 'USD' THEN 1.0 ELSE usd_per_unit END
               * CASE exponent WHEN 0 THEN 100.0 WHEN 1 THEN 10.0 WHEN 2 THEN 1.0 WHEN 3 THEN 0.1 END)
         AS BIGINT);
