"""The close pack's own .xlsx writer, read back with openpyxl: values, styles, hostile text, limits."""

from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest

from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import STYLE, Sheet, minor_text


def read_back(tmp_path, sheets, values=True):
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx.workbook_bytes(sheets))
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
    sheet = Sheet("Hostile & <sheet>")
    for r, text in enumerate(hostile, start=1):
        sheet.add_row(r, [xlsx.string_cell(f"A{r}", text)])
    got = [row[0] for row in read_back(tmp_path, [sheet])["Hostile & <sheet>"].iter_rows(values_only=True)]
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
    sheet = Sheet("Table", widths=(12, 14), freeze_header=True, autofilter=(3, 1))
    sheet.write_values(1, ("when", "amount"), STYLE["header"])
    sheet.write_values(2, (datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), Decimal("1.50")))
    sheet.add_row(3, [xlsx.number_cell("A3", "7", STYLE["decimal0"]), xlsx.number_cell("B3", minor_text(-250, 2), STYLE["usd"])])
    sheet.add_row(4, [xlsx.string_cell("A4", "Total", STYLE["bold"]),
                      xlsx.formula_cell("B4", "SUBTOTAL(109,B2:B3)", minor_text(-100, 2), STYLE["usd_total"])])
    values = read_back(tmp_path, [sheet])["Table"]
    assert values["A2"].value == datetime(2026, 10, 31, 23, 59, 59)
    assert values["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert values["B2"].value == 1.5 and values["B3"].value == -2.5 and values["B4"].value == -1.0
    assert values["B3"].number_format.startswith('"$"#,##0.00') and values["A3"].number_format == "#,##0"
    formulas = read_back(tmp_path, [sheet], values=False)["Table"]
    assert formulas["B4"].value == "=SUBTOTAL(109,B2:B3)" and formulas["A4"].font.b
    assert formulas["A1"].fill.fgColor.rgb == "FFDDEBF7"
    assert formulas.freeze_panes == "A2" and formulas.auto_filter.ref == "A1:B3"
    assert formulas.column_dimensions["B"].width == pytest.approx(14.7109375)


def test_same_content_same_bytes_and_sheet_rules():
    def book():
        sheet = Sheet("One")
        sheet.write_values(1, ("a", 1))
        return xlsx.workbook_bytes([sheet])

    assert book() == book()  # fixed zip timestamps: reproducible packs
    sheet = Sheet("Rows")
    sheet.write_values(2, ("b",))
    with pytest.raises(xlsx.XlsxError, match="row 1 written after row 2"):
        sheet.write_values(1, ("a",))
    with pytest.raises(xlsx.XlsxError, match="Excel holds 1,048,576 rows"):
        sheet.write_values(xlsx.EXCEL_MAX_ROWS + 1, ("too far",))
    with pytest.raises(xlsx.XlsxError, match="share a name"):
        xlsx.workbook_bytes([Sheet("Same"), Sheet("Same")])
