-- The close pack's data cells rendered as SpreadsheetML text by DuckDB, a row at a time, so a month's
-- hundred thousand rows are not formatted cell by cell in Python (billing_assets/reports/close_pack.py).
-- Each macro gives exactly the text of its namesake in billing_assets/reports/xlsx.py
-- (tests/reports/test_xlsx.py holds the two to the same text on hostile values). Temporary macros: they
-- live on the connection that renders, which may be read-only.

-- Control characters are not allowed in XML 1.0: Excel's own escape `_xHHHH_` (tab, LF and CR are XML).
CREATE OR REPLACE TEMP MACRO xlsx_control_escape(t) AS
    CASE WHEN regexp_matches(t, '[\x00-\x08\x0b\x0c\x0e-\x1f]')
         THEN array_to_string(list_transform(string_split(t, ''), lambda ch:
                  CASE WHEN ord(ch) < 32 AND ord(ch) NOT IN (9, 10, 13) THEN printf('_x%04X_', ord(ch)) ELSE ch END),
              '')
         ELSE t END;

-- escape_text: cut to Excel's 32,767 characters; a literal `_xHHHH_` gets `_x005F_` before it (else it
-- reads back as an escaped character), then XML's three, then control characters (last, so their
-- `_xHHHH_` is not taken for a literal one).
CREATE OR REPLACE TEMP MACRO xlsx_escape(t) AS
    CASE WHEN length(t) <= 32767 AND NOT regexp_matches(t, '[&<>\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_')
         THEN t  -- most text: nothing to escape
         ELSE xlsx_control_escape(
                  replace(replace(replace(
                      regexp_replace(left(t, 32767), '_(x[0-9A-Fa-f]{4}_)', '_x005F_\1', 'g'),
                      '&', '&amp;'), '<', '&lt;'), '>', '&gt;')) END;

-- Python's str.isspace() for one character (false for the empty string): its 29 white-space characters.
CREATE OR REPLACE TEMP MACRO xlsx_is_space(ch) AS
    regexp_full_match(ch, '[\t\n\x0b\x0c\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]');

-- string_cell (none for NULL, as value_cell): xml:space="preserve" when the text starts or ends with white
-- space, as `text[:1].isspace() or text[-1:].isspace()`.
CREATE OR REPLACE TEMP MACRO xlsx_string_cell(ref, t, style) AS
    CASE WHEN t IS NULL THEN ''
         ELSE '<c r="' || ref || '"' || CASE WHEN style > 0 THEN ' s="' || style || '"' ELSE '' END
              || ' t="inlineStr"><is><t'
              || CASE WHEN xlsx_is_space(left(t, 1)) OR xlsx_is_space(right(t, 1)) THEN ' xml:space="preserve"' ELSE '' END
              || '>' || xlsx_escape(t) || '</t></is></c>' END;

-- number_cell, from the number's text (none for NULL, as value_cell).
CREATE OR REPLACE TEMP MACRO xlsx_number_cell(ref, number_text, style) AS
    CASE WHEN number_text IS NULL THEN ''
         ELSE '<c r="' || ref || '"' || CASE WHEN style > 0 THEN ' s="' || style || '"' ELSE '' END
              || '><v>' || number_text || '</v></c>' END;

-- value_cell of a DECIMAL: its text at its scale, as Python's format(Decimal, "f"); DuckDB writes a
-- DECIMAL(2,2) -0.25 as `-.25`, Python as `-0.25`.
CREATE OR REPLACE TEMP MACRO xlsx_decimal_text(d) AS regexp_replace(CAST(d AS VARCHAR), '^(-?)\.', '\10.');

-- money.minor_text: integer minor units as exact major-unit text, (-1234, 2) -> -12.34, (7500, 0) -> 7500.
CREATE OR REPLACE TEMP MACRO xlsx_minor_text(amount_minor, exp) AS
    CASE WHEN exp = 0 THEN CAST(amount_minor AS VARCHAR)
         ELSE CASE WHEN amount_minor < 0 THEN '-' ELSE '' END
              || CAST(abs(amount_minor) // CAST(10 ** exp AS BIGINT) AS VARCHAR) || '.'
              || lpad(CAST(abs(amount_minor) % CAST(10 ** exp AS BIGINT) AS VARCHAR), exp, '0') END;

-- value_cell of a date-time: Excel's serial day in UTC (1900 system), the same double as Python's
-- timedelta.total_seconds() / 86400, printed shortest-round-trip as repr() does.
CREATE OR REPLACE TEMP MACRO xlsx_datetime_cell(ref, ts, style) AS
    xlsx_number_cell(ref, CAST((epoch_us(ts) - epoch_us(TIMESTAMP '1899-12-30')) / 1e6 / 86400 AS VARCHAR), style);
