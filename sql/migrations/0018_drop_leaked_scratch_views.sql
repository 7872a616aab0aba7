-- do_cost_lines staged each month as views in the main schema that outlived their run and pointed at
-- deleted scratch files (an analyst's SELECT on them failed). They are temporary views now; drop the
-- persistent ones earlier releases left behind.
DROP VIEW IF EXISTS main.month_csv_lines;
DROP VIEW IF EXISTS main.month_item_lines;
