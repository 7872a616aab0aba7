"""The close pack's own .xlsx writer, read back with openpyxl: values, styles, hostile text, limits."""

from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest

from billing_assets.money import minor_text
from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import STYLE


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
