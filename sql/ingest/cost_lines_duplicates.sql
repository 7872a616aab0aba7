-- Lines of the month that repeat an earlier line exactly (the no_duplicate_lines check): the first
-- 100, each with how many there are in all.
SELECT line_number, first_line, description, count(*) OVER () AS repeated FROM (
    SELECT line_number, description, min(line_number) OVER (
        PARTITION BY product, group_description, description, start_at, end_at, amount_minor, hours, project_name
    ) AS first_line FROM month_lines)
WHERE line_number <> first_line
ORDER BY line_number
LIMIT 100;
