"""The data dictionary (docs/data-dictionary.md) read as data: one source for the people reading the
document, the column descriptions on each asset's page in Dagster, and the comments on the
warehouse's tables, views and columns that analysts see in DuckDB.

The document stays a document; this reads its conventions: a `###` heading names the tables it
documents (`### revenue.payments (append-only; view marts.payments)` documents both), each row
of a markdown table documents the columns its first cell names (`a, b`, `a / b`, `(a, b)`, `a PK`,
`table.a` in the source contract, whose tables are staged as `staging.<table>`), its last cell is
the meaning. The first paragraph under a heading describes the table; "Same columns as
`schema.table`" in it makes the section inherit that table's columns. tests/warehouse/test_data_dictionary.py
fails when a warehouse column has no meaning here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

SCHEMAS = ("meta", "staging", "ingest", "cogs", "revenue", "books", "margin", "marts")
TABLE_NAME = re.compile(rf"\b((?:{'|'.join(SCHEMAS)})\.[a-z_][a-z0-9_]*)\b")
SAME_AS = re.compile(r"[Ss]ame columns as `?(" + TABLE_NAME.pattern[2:-2] + r")`?")
COLUMN = re.compile(r"^(?:([a-z_][a-z0-9_]*)\.)?\(?([A-Za-z_][A-Za-z0-9_]*)")
SOURCE_SECTION = "Source contract"


@dataclass
class TableDoc:
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    same_as: str | None = None


def _column_names(cell: str) -> list[tuple[str | None, str]]:
    """(table or None, column) for every column a first cell names."""
    cell = cell.replace("`", "")
    names, table = [], None
    for part in re.split(r"[,/]", cell):
        part = part.strip()
        match = COLUMN.match(part)
        if not match:
            continue
        table = match.group(1) or table
        names.append((table, match.group(2)))
    return names


def parse(text: str) -> dict[str, TableDoc]:
    """schema.table -> its description and column meanings, as the document states them."""
    docs: dict[str, TableDoc] = {}
    current: list[str] = []
    in_source, paragraph_done = False, True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("## ", "### ")):
            if stripped.startswith("## "):
                in_source = stripped[3:].startswith(SOURCE_SECTION)
            title = stripped.lstrip("#").strip()
            if in_source and stripped.startswith("### "):
                current = [f"staging.{name.strip()}" for name in title.split(",")]
            else:
                current = TABLE_NAME.findall(title)
            for name in current:
                docs.setdefault(name, TableDoc())
            paragraph_done = False
            continue
        if not current:
            continue
        if stripped.startswith("|"):
            paragraph_done = True
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if cells[0] in ("column", "table.column") or set(cells[0]) <= set("-: "):
                continue
            for table, column in _column_names(cells[0]):
                for name in ([f"staging.{table}"] if in_source and table else current):
                    docs.setdefault(name, TableDoc()).columns[column] = cells[-1]
            continue
        if not stripped:
            paragraph_done = paragraph_done or bool(docs[current[0]].description)
        elif not paragraph_done:
            for name in current:
                docs[name].description = (docs[name].description + " " + stripped).strip()
    for doc in docs.values():
        same = SAME_AS.search(doc.description)
        doc.same_as = same.group(1) if same else None
        if doc.same_as in docs:
            doc.columns = {**docs[doc.same_as].columns, **doc.columns}
    return docs


@cache
def data_dictionary() -> dict[str, TableDoc]:
    """The shipped data dictionary (package billing_assets.docs, docs/ in the repository)."""
    return parse((files("billing_assets.docs") / "data-dictionary.md").read_text(encoding="utf-8"))


def column_descriptions(table: str) -> dict[str, str]:
    return data_dictionary().get(table, TableDoc()).columns


def comment_statements(conn) -> list[str]:
    """COMMENT ON statements for every documented table, view and column the warehouse has.

    The text is a SQL string literal (DuckDB's COMMENT takes no parameters), quotes doubled; it
    comes from the shipped document, never from data."""
    kinds = dict(conn.execute(
        "SELECT schema_name || '.' || table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name || '.' || view_name, 'VIEW' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal").fetchall())
    present = conn.execute("SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
                           "WHERE database_name = current_database() ORDER BY ALL").fetchall()
    docs = data_dictionary()
    statements = [f"COMMENT ON {kind} {_quoted(table)} IS {_literal(docs[table].description)}"
                  for table, kind in sorted(kinds.items()) if table in docs and docs[table].description]
    for table, column in present:
        meaning = docs[table].columns.get(column) if table in docs else None
        if meaning:
            statements.append(f'COMMENT ON COLUMN {_quoted(table)}."{column}" IS {_literal(meaning)}')
    return statements


def _quoted(table: str) -> str:
    schema, name = table.split(".")
    return f'"{schema}"."{name}"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
