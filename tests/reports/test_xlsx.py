"""The close pack's own .xlsx writer, read back with openpyxl: values, styles, hostile text, limits."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import openpyxl
import pytest

from billing_assets.money import minor_text
from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import STYLE
from billing_assets.warehouse.connection import run_sql


def read_back(path, values=True):
    return openpyxl.load_workbook(path, data_only=values)


def test_minor_units_become_exact_major_text():
    assert minor_text(-1234, 2) == "-12.34"
    assert minor_text(5, 2) == "0.05" and minor_text(-5, 2) == "-0.05"
    assert minor_text(7500, 0) == "7500"
    assert minor_text(1, 3) == "0.001"
    assert minor_text(123456789012345678, 2) == "1234567890123456.78"  # no float on the way


def test_column_letters():
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == ["A", "Z", "AA", "AZ", "ZZ", "AAA"]


def test_hostile_text_round_trips_or_is_escaped(tmp_path):
    hostile = ["<script>&amp;</script>", "bell\x07 and nul\x00", "_x0041_ is not A", "  padded  ", "=1+1",
               "😀 émoji", "x" * (xlsx.EXCEL_MAX_TEXT + 10)]
    with xlsx.Workbook(tmp_path / "hostile.xlsx") as book, book.sheet("Hostile & <sheet>") as sheet:
        for r, text in enumerate(hostile, start=1):
            sheet.add_row(r, [xlsx.string_cell(f"A{r}", text)])
    got = [row[0] for row in read_back(tmp_path / "hostile.xlsx")["Hostile & <sheet>"].iter_rows(values_only=True)]
    assert got[0] == "<script>&amp;</script>"
    # Excel decodes `_xHHHH_` (control characters are not XML) and `_x005F_` (a literal underscore, so the
    # text's own `_x0041_` is shown as written, not as "A"); openpyxl returns the escapes undecoded.
    assert got[1] == "bell_x0007_ and nul_x0000_"
    assert got[2] == "_x005F_x0041_ is not A"
    assert got[3] == "  padded  "  # xml:space="preserve"
    assert got[4] == "=1+1"  # text, never a formula
    assert got[5] == "😀 émoji"
    assert len(got[6]) == xlsx.EXCEL_MAX_TEXT
    assert xlsx.escape_text("a\x1fb") == "a_x001F_b" and xlsx.escape_text("\t\n") == "\t\n"  # tab and newline are XML


def test_numbers_dates_formulas_and_styles(tmp_path):
    path = tmp_path / "table.xlsx"
    with xlsx.Workbook(path) as book:
        with book.sheet("Table", widths=(12, 14), freeze_header=True) as sheet:
            sheet.write_values(1, ("when", "amount"), STYLE["header"])
            sheet.write_values(2, (datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), Decimal("1.50")))
            sheet.add_row(3, [xlsx.number_cell("A3", "7", STYLE["decimal0"]),
                              xlsx.number_cell("B3", minor_text(-250, 2), STYLE["usd"])])
            sheet.add_row(4, [xlsx.string_cell("A4", "Total", STYLE["bold"]),
                              xlsx.formula_cell("B4", "SUBTOTAL(109,B2:B3)", minor_text(-100, 2), STYLE["usd_total"])])
            sheet.autofilter = (3, 1)
        with book.sheet("Second") as second:
            second.write_values(1, ("more",))
    values = read_back(path)["Table"]
    assert values["A2"].value == datetime(2026, 10, 31, 23, 59, 59)
    assert values["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert values["B2"].value == 1.5 and values["B3"].value == -2.5 and values["B4"].value == -1.0
    assert values["B3"].number_format.startswith('"$"#,##0.00') and values["A3"].number_format == "#,##0"
    formulas = read_back(path, values=False)["Table"]
    assert formulas["B4"].value == "=SUBTOTAL(109,B2:B3)" and formulas["A4"].font.b
    assert formulas["A1"].fill.fgColor.rgb == "FFDDEBF7"
    assert formulas.freeze_panes == "A2" and formulas.auto_filter.ref == "A1:B3"
    assert formulas.column_dimensions["B"].width == pytest.approx(14.7109375)
    assert formulas.max_row == 4 and read_back(path).sheetnames == ["Table", "Second"]


def test_same_content_same_bytes_and_sheet_rules(tmp_path):
    def book(name: str) -> bytes:
        with xlsx.Workbook(tmp_path / name) as workbook, workbook.sheet("One") as sheet:
            sheet.write_values(1, ("a", 1))
        return (tmp_path / name).read_bytes()

    assert book("first.xlsx") == book("second.xlsx")  # fixed zip timestamps: reproducible packs
    with xlsx.Workbook(tmp_path / "rules.xlsx") as workbook:
        with workbook.sheet("Rows") as sheet:
            sheet.write_values(2, ("b",))
            with pytest.raises(xlsx.XlsxError, match="row 1 written after row 2"):
                sheet.write_values(1, ("a",))
            with pytest.raises(xlsx.XlsxError, match="Excel holds 1,048,576 rows"):
                sheet.write_values(xlsx.EXCEL_MAX_ROWS + 1, ("too far",))
        with pytest.raises(xlsx.XlsxError, match="two sheets named 'Rows'"), workbook.sheet("Rows"):
            pass


def test_a_long_sheet_is_streamed_in_bounded_memory(tmp_path):
    """200,000 rows (2 MB of cells in memory if held whole, far more as Python objects): the writer keeps
    at most a few thousand rendered rows, so its peak allocation stays small while the file is complete."""
    import tracemalloc

    path = tmp_path / "long.xlsx"
    tracemalloc.start()
    with xlsx.Workbook(path) as book, book.sheet("Long") as sheet:
        for r in range(1, 200_001):
            sheet.add_row(r, [xlsx.number_cell(f"A{r}", str(r)), xlsx.string_cell(f"B{r}", f"line {r}")])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    rows = list(openpyxl.load_workbook(path, read_only=True)["Long"].iter_rows(values_only=True))
    assert len(rows) == 200_000 and rows[-1] == (200_000, "line 200000")


def test_a_failed_write_leaves_the_old_file(tmp_path):
    from billing_assets.exports import atomic_path

    final = tmp_path / "pack.xlsx"
    final.write_bytes(b"the old pack")
    with pytest.raises(xlsx.XlsxError), atomic_path(final) as tmp, xlsx.Workbook(tmp) as book:
        with book.sheet("Sheet") as sheet:
            sheet.write_values(xlsx.EXCEL_MAX_ROWS + 1, ("too far",))
    assert final.read_bytes() == b"the old pack" and [p.name for p in tmp_path.iterdir()] == ["pack.xlsx"]


@pytest.fixture(scope="module")
def cells_sql():
    """A DuckDB connection with sql/reports/xlsx_cells.sql's macros, as the close pack renders its rows."""
    with duckdb.connect(config={"threads": 4}) as conn:
        run_sql(conn, "reports/xlsx_cells.sql")
        yield conn


WHITE_SPACE = [chr(c) for c in range(0x3001) if chr(c).isspace()]  # all 29 of Python's, \t to U+3000
HOSTILE_TEXT = [
    "", "plain", "<script>&amp;</script>", "a > b & c < d", "bell\x07 and nul\x00", "_x0041_ is not A",
    "_x0041_x0042_", "_X0041_ _x004g_ _x04_", "x" * (xlsx.EXCEL_MAX_TEXT + 10),
    "_x0041_" + "y" * xlsx.EXCEL_MAX_TEXT, "y" * (xlsx.EXCEL_MAX_TEXT - 3) + "_x0041_",  # escapes at the cut
    "z" * (xlsx.EXCEL_MAX_TEXT - 1) + "&<", "=1+1", "😀 émoji", "\u200b zero-width is not space\u200b",
    "line\nbreak\ttab\rreturn", *(chr(c) + "controls" for c in range(32)), *(w + "edge" for w in WHITE_SPACE),
    *("edge" + w for w in WHITE_SPACE), "\x1f_x001F_\x1f"]


def test_duckdb_renders_text_cells_exactly_as_python(cells_sql):
    """The close pack's rows are rendered by sql/reports/xlsx_cells.sql; its text must be the Python writer's,
    byte for byte, on every kind of hostile text (escapes, control characters, Excel's cut at 32,767
    characters, the white space that needs xml:space="preserve")."""
    for style in (0, STYLE["bold"]):
        for text in HOSTILE_TEXT:
            (got,) = cells_sql.execute("SELECT xlsx_string_cell('B' || $row, $text, $style)",
                                       {"row": "7", "text": text, "style": style}).fetchone()
            assert got == xlsx.string_cell("B7", text, style), (style, text[:40])
    assert cells_sql.execute("SELECT xlsx_string_cell('A1', NULL, 0)").fetchone() == ("",)  # as value_cell(None)


def test_duckdb_renders_numbers_money_and_dates_exactly_as_python(cells_sql):
    for amount in (0, 1, -1, 5, -5, 99, 100, -100, 1234, -1234, 7500, 123456789012345678, -(2**62)):
        for exp in (0, 2, 3):
            (got,) = cells_sql.execute("SELECT xlsx_number_cell('C9', xlsx_minor_text($amount, $exp), $style)",
                                       {"amount": amount, "exp": exp, "style": xlsx.DECIMAL_STYLE[exp]}).fetchone()
            assert got == xlsx.number_cell("C9", minor_text(amount, exp), xlsx.DECIMAL_STYLE[exp]), (amount, exp)
    for number in (0, -3, 2**40):
        (got,) = cells_sql.execute("SELECT xlsx_number_cell('D2', CAST($n AS VARCHAR), 0)", {"n": number}).fetchone()
        assert got == xlsx.value_cell("D2", number), number
    # each DECIMAL(width, scale) as DuckDB hands it over, Decimal("-0.25") as DECIMAL(2,2) among them
    for number in (Decimal("12.500000"), Decimal("-0.25"), Decimal("0.00"), Decimal("1.00"), Decimal("-12.34")):
        (got,) = cells_sql.execute("SELECT xlsx_number_cell('D2', xlsx_decimal_text($n), 0)", {"n": number}).fetchone()
        assert got == xlsx.value_cell("D2", number), number
    moments = [datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC),
               datetime(2026, 2, 3, 4, 5, 6, 123456, tzinfo=UTC), datetime(1900, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
               datetime(2099, 12, 31, 12, 0, 0, 999999, tzinfo=UTC)]
    moments += [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s * 7919.123457) for s in range(300)]
    for moment in moments:
        (got,) = cells_sql.execute("SELECT xlsx_datetime_cell('E3', CAST($at AS TIMESTAMP), $style)",
                                   {"at": moment.replace(tzinfo=None), "style": STYLE["datetime"]}).fetchone()
        assert got == xlsx.value_cell("E3", moment), moment


def test_rendering_keeps_the_order_of_the_query_it_wraps(cells_sql):
    """The close pack wraps each sheet's ordered query in a projection that renders its cells and numbers the
    rows as they arrive; DuckDB keeps a projection's input order (docs: "Order preservation"), also across
    threads and row groups. 600,000 rows in an order that is neither insertion nor key order."""
    rows = cells_sql.execute(
        "SELECT xlsx_number_cell('A' || $row, CAST(k AS VARCHAR), 0) FROM "
        "(SELECT (i * 7919) % 600000 AS k FROM range(600000) t(i) ORDER BY hash(k), k)", {"row": "1"}).fetchall()
    expected = cells_sql.execute("SELECT (i * 7919) % 600000 AS k FROM range(600000) t(i) ORDER BY hash(k), k").fetchall()
    assert [r for (r,) in rows] == [xlsx.number_cell("A1", str(k)) for (k,) in expected]
