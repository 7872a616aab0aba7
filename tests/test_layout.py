"""The layout shows the flow, and a test keeps it so: imports go source -> ingest -> cogs and
source -> metering -> invoicing -> payments/books, everything -> margin -> reports, never back; each area creates its
own `marts` views; only the invoice store writes the invoice tables; the wheel lists every package."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "billing_assets"

# Module prefix -> layer. The most specific prefix wins; every module must have a layer.
LAYERS = {
    "billing_assets.money": "shared", "billing_assets.periods": "shared", "billing_assets.tax": "shared",
    "billing_assets.price_list": "shared",
    "billing_assets.secrets": "shared", "billing_assets.settings": "shared",
    "billing_assets.partitions": "shared", "billing_assets.sql_files": "shared", "billing_assets.ids": "shared",
    "billing_assets.memory": "shared",
    "billing_assets.assets_common": "shared", "billing_assets.exports": "shared", "billing_assets.warehouse": "shared",
    "billing_assets.sample_world": "sample_world",
    "billing_assets.source": "source",
    "billing_assets.ingest": "ingest",
    "billing_assets.cogs": "cogs",
    "billing_assets.revenue.metering": "metering",
    "billing_assets.revenue.invoicing": "invoicing",
    "billing_assets.revenue.payments": "payments",
    "billing_assets.revenue.estimates": "estimates",
    "billing_assets.books": "books",
    "billing_assets.margin": "margin",
    "billing_assets.reports": "reports",
    # Gatherers: they only assemble the areas below them.
    "billing_assets.revenue": "revenue",
    "billing_assets.definitions": "top", "billing_assets.jobs": "top", "billing_assets.cli": "top",
    "billing_assets.demo": "top", "billing_assets": "top",
}
ALLOWED = {
    "shared": {"shared"},
    "sample_world": {"shared", "sample_world"},
    "source": {"shared", "source"},
    "ingest": {"shared", "source", "ingest"},
    "cogs": {"shared", "source", "ingest", "cogs"},
    "metering": {"shared", "source", "metering"},
    "invoicing": {"shared", "source", "metering", "invoicing"},
    "payments": {"shared", "source", "metering", "invoicing", "payments"},
    "estimates": {"shared", "source", "metering", "invoicing", "estimates"},
    "revenue": {"shared", "metering", "invoicing", "payments", "estimates"},
    "books": {"shared", "source", "ingest", "cogs", "metering", "invoicing", "books"},
    "margin": {"shared", "source", "ingest", "cogs", "metering", "invoicing", "payments", "margin"},
    "reports": {"shared", "margin", "reports"},  # reads the analysts' copy only, never an area's code
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise AssertionError(f"module {module} has no layer in tests/test_layout.py: place it in an area")
    return LAYERS[best]


def imports(path: Path) -> set[str]:
    """Every billing_assets module this file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("billing_assets")}


def real_modules() -> set[str]:
    return {module_name(p) for p in PACKAGE.rglob("*.py")}


def test_imports_never_flow_backwards():
    modules = real_modules()
    back_edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        source_layer = layer(source)
        if source_layer == "top":
            continue
        for target in sorted(imports(path)):
            if target not in modules:  # `from pkg import name` also yields pkg.name for plain names
                continue
            if layer(target) not in ALLOWED[source_layer]:
                back_edges.append(f"{source} ({source_layer}) imports {target} ({layer(target)})")
    assert not back_edges, "imports against the flow:\n" + "\n".join(back_edges)


def test_the_import_check_sees_a_back_edge(tmp_path):
    """The walker is not vacuous: a pure invoicing module importing payments is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from billing_assets.revenue.payments import journal\n")
    targets = imports(bad)
    assert "billing_assets.revenue.payments.journal" in targets
    assert layer("billing_assets.revenue.payments.journal") not in ALLOWED["invoicing"]


# Migration file (by its name after the number) -> the schema whose views it may create.
MIGRATION_SCHEMA = {"source_staging": "staging", "ingest": "ingest", "metering": "revenue", "invoicing": "revenue",
                    "credits": "revenue", "payments": "revenue", "cogs": "cogs", "margin": "margin",
                    "books": "books", "collections": "revenue",
                    "estimates": "revenue"}
VIEW = re.compile(r"CREATE OR REPLACE VIEW marts\.(\w+) AS\s+SELECT .*? FROM (\w+)\.", re.S | re.I)


def test_each_area_creates_its_own_marts_views():
    seen = {}
    for path in sorted((ROOT / "sql" / "migrations").glob("*.sql")):
        area = path.stem.split("_", 1)[1]
        for view, schema in VIEW.findall(path.read_text()):
            assert area in MIGRATION_SCHEMA, f"{path.name} creates view marts.{view} but is no area's migration"
            assert schema == MIGRATION_SCHEMA[area], f"{path.name} creates marts.{view} over {schema}.*"
            seen[view] = path.name
    assert {"tenants", "metered_usage", "tenant_invoices", "deployment_costs", "deployment_margin"} <= set(seen)


INVOICE_WRITE = re.compile(r"(UPDATE|DELETE FROM|INSERT INTO)\s+revenue\.tenant_invoice(s|_lines)\b|"
                           r"insert_rows\(\s*conn,\s*\"revenue\.tenant_invoice", re.I)


def test_only_the_invoice_store_writes_invoices():
    writers = sorted(str(p.relative_to(ROOT)) for p in [*PACKAGE.rglob("*.py"), *(ROOT / "sql").rglob("*.sql")]
                     if INVOICE_WRITE.search(p.read_text()))
    # store.py, and the one SQL file it runs to issue a batch of drafts (invoicing/issue_drafts.sql)
    assert writers == ["billing_assets/revenue/invoicing/store.py", "sql/invoicing/issue_drafts.sql"]
    assert "invoicing/issue_drafts.sql" not in "".join(
        p.read_text() for p in PACKAGE.rglob("*.py") if p.name != "store.py"), "only the store runs it"


def test_the_wheel_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    mapped = set(config["package-dir"])
    # each folder of sql/ too: setuptools takes it for a package and, unlisted, warns at every install
    # that a later release may leave it out of the wheel
    sql_folders = {f"billing_assets.sql.{'.'.join(p.relative_to(ROOT / 'sql').parts)}"
                   for p in (ROOT / "sql").rglob("*") if p.is_dir() and p.name != "__pycache__"}
    assert set(config["packages"]) == on_disk | mapped | sql_folders
    assert {"billing_assets.sql", "billing_assets.deploy"} <= mapped


@pytest.mark.parametrize("folder", ["sql", "deploy"])
def test_shipped_folders_hold_no_python_but_their_marker(folder):
    python = sorted(p.name for p in (ROOT / folder).rglob("*.py"))
    assert python == ["__init__.py"]
