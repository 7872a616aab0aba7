"""The cost-vs-revenue dashboard: one self-contained HTML file per month and an index, no server.

Charts are Vega-Lite specs (plain dicts) rendered in the browser by Vega-Embed, whose JavaScript
vl-convert bundles, so each file is complete offline. The exact figures are HTML tables beside the
charts: a chart draws dollars as floating-point numbers, the tables print the marts' cents.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from billing_assets.exports import replace_atomically
from billing_assets.money import exponent, minor_text
from billing_assets.sql_files import read_sql

BLUE, ORANGE, GREEN, RED = "#4c78a8", "#f58518", "#54a24b", "#e45756"


USD_EXPONENT = exponent("USD")


def usd(minor: int | None) -> str:
    """US cents as `$1,234.56` (negative `-$1,234.56`)."""
    cents = int(minor or 0)
    return f"{'-' if cents < 0 else ''}${minor_text(abs(cents), USD_EXPONENT, grouped=True)}"


def pct(value) -> str:
    return "n/a" if value is None else f"{value}%"


@dataclass(frozen=True)
class MonthData:
    month: str
    history: list[tuple]      # (month, revenue, cost, margin, margin %, unallocated, credits), oldest first
    deployments: list[tuple]  # (label, tenant, is_deployment, revenue, cost, margin), best first
    kinds: list[tuple]        # (resource kind, revenue, cost, margin)
    unallocated: list[tuple]  # (reason, cost, lines)
    drill: list[tuple]        # (tenant, deployment, kind, revenue, cost, margin)

    @property
    def pnl(self) -> tuple:
        return self.history[-1]


def month_data(conn: duckdb.DuckDBPyConnection, month: str) -> MonthData:
    """Everything one month's page shows, read from the analysts' copy."""
    params = {"month_start": f"{month}-01"}

    def rows(name: str) -> list[tuple]:
        return conn.execute(read_sql(f"reports/dashboard_{name}.sql"), params).fetchall()

    return MonthData(month, history(conn, month), rows("deployments"), rows("by_kind"), rows("unallocated"),
                     rows("drill"))


def history(conn: duckdb.DuckDBPyConnection, month: str) -> list[tuple]:
    """Every month's headline figures up to `month`, oldest first (MonthData.history)."""
    return conn.execute(read_sql("reports/dashboard_pnl.sql"), {"month_start": f"{month}-01"}).fetchall()


def _dollars(minor: int | None) -> float:
    return int(minor or 0) / 100  # chart geometry only; tables print exact cents


def history_spec(data: MonthData) -> dict:
    values = [{"month": m, "figure": name, "usd": _dollars(v)} for m, rev, cost, margin, *_ in data.history
              for name, v in (("revenue", rev), ("cost of goods", cost), ("gross margin", margin))]
    margin_pct = [{"month": m, "margin_pct": float(p) if p is not None else None} for m, _, _, _, p, *_ in data.history]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Revenue, cost and gross margin by month (USD)",
        "vconcat": [
            {"data": {"values": values}, "width": 640, "height": 220, "mark": "bar",
             "encoding": {"x": {"field": "month", "type": "ordinal", "title": None},
                          "xOffset": {"field": "figure", "sort": ["revenue", "cost of goods", "gross margin"]},
                          "y": {"field": "usd", "type": "quantitative", "title": "USD"},
                          "color": {"field": "figure", "scale": {"range": [BLUE, ORANGE, GREEN]},
                                    "sort": ["revenue", "cost of goods", "gross margin"]},
                          "tooltip": [{"field": "month"}, {"field": "figure"},
                                      {"field": "usd", "format": ",.2f"}]}},
            {"data": {"values": margin_pct}, "width": 640, "height": 120, "mark": {"type": "line", "point": True},
             "encoding": {"x": {"field": "month", "type": "ordinal", "title": None},
                          "y": {"field": "margin_pct", "type": "quantitative", "title": "gross margin %"},
                          "tooltip": [{"field": "month"}, {"field": "margin_pct"}]}}]}


def _bars(title: str, values: list[dict], category: str) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title,
        "data": {"values": values}, "width": 560, "height": {"step": 18}, "mark": "bar",
        "encoding": {"y": {"field": category, "type": "nominal", "sort": None, "title": None},
                     "x": {"field": "usd", "type": "quantitative", "title": "USD"},
                     "color": {"condition": {"test": "datum.usd < 0", "value": RED}, "value": GREEN},
                     "tooltip": [{"field": category}, {"field": "usd", "format": ",.2f"}]}}


# A bar per deployment reads up to a few dozen; past that the chart shows the best and worst this many
# (the tables and the drill-down below it keep every deployment). Rendering 20,000 bars also cost minutes.
CHART_ENDS = 20


def deployments_spec(data: MonthData) -> dict:
    shown, title = data.deployments, f"Margin by deployment, {data.month} (USD)"
    if len(shown) > 2 * CHART_ENDS:
        shown = shown[:CHART_ENDS] + shown[-CHART_ENDS:]
        title = f"Margin by deployment, {data.month}: the {CHART_ENDS} best and worst of {len(data.deployments):,} (USD)"
    return _bars(title, [{"label": label, "usd": _dollars(margin)} for label, _, _, _, _, margin in shown], "label")


def kinds_spec(data: MonthData) -> dict:
    return _bars(f"Margin by resource kind, {data.month} (USD)",
                 [{"kind": kind, "usd": _dollars(margin)} for kind, _, _, margin in data.kinds], "kind")


def unallocated_spec(data: MonthData) -> dict:
    spec = _bars(f"Unallocated cost by cause, {data.month} (USD)",
                 [{"cause": reason, "usd": _dollars(cost)} for reason, cost, _ in data.unallocated], "cause")
    spec["encoding"]["color"] = {"value": ORANGE}
    return spec


def _table(headers: tuple[str, ...], rows: list[tuple], money: set[int]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{usd(v)}</td>' if i in money else f"<td>{html.escape(str(v))}</td>"
        for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _drill_down(drill: list[tuple]) -> str:
    """Tenant -> deployment -> resource kind as nested <details>: no JavaScript needed."""
    tenants: dict[str, dict[str, list[tuple]]] = {}
    for tenant, deployment, kind, revenue, cost, margin in drill:
        tenants.setdefault(tenant, {}).setdefault(deployment, []).append((kind, revenue, cost, margin))

    def line(name: str, rows: list[tuple]) -> str:
        revenue, cost, margin = (sum(r[i] for r in rows) for i in (1, 2, 3))
        return (f'<span class="name">{html.escape(name)}</span> revenue {usd(revenue)} · cost {usd(cost)} · '
                f'margin <b class="{"neg" if margin < 0 else "pos"}">{usd(margin)}</b>')

    parts = []
    for tenant, deployments in sorted(tenants.items(), key=lambda t: sum(r[3] for d in t[1].values() for r in d)):
        everything = [r for d in deployments.values() for r in d]
        inner = "".join(
            f"<details><summary>{line(deployment, kinds)}</summary>"
            + _table(("resource kind", "revenue", "cost", "margin"), kinds, {1, 2, 3}) + "</details>"
            for deployment, kinds in deployments.items())
        parts.append(f'<details class="tenant"><summary>{line(tenant, everything)}</summary>{inner}</details>')
    return "".join(parts)


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kpi td { font-size: 16px; } .neg { color: #c0392b; } .pos { color: #2e7d32; }
details { margin: 4px 0 4px 18px; } details.tenant { margin-left: 0; } summary { cursor: pointer; }
nav a { margin-right: 10px; } .note { color: #666; font-size: 12px; }
"""


@cache
def vega_bundle(folder: Path) -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (vl-convert's bundle, ~0.9 MB). Building it takes
    2-3 s, a tenth of a 10,000-tenant month close's reports, so it is kept beside the pages as
    `.vega-bundle-<vl-convert version>.js` and rebuilt only when vl-convert changes."""
    import vl_convert

    kept = folder / f".vega-bundle-{vl_convert.__version__}.js"
    if kept.exists():
        return kept.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle()
    replace_atomically(kept, bundle.encode("utf-8"))
    return bundle


def render_month(data: MonthData, months: list[str], run_id: str, script: str) -> str:
    """The month's page."""
    rev, cost, margin, margin_pct, unallocated, credits = data.pnl[1:]
    specs = {"history": history_spec(data), "deployments": deployments_spec(data), "kinds": kinds_spec(data),
             "unallocated": unallocated_spec(data)}
    ranked = [d for d in data.deployments if d[2]]
    top, bottom = ranked[:5], list(reversed(ranked[-5:]))
    nav = " ".join(f'<a href="dashboard_{m}.html">{m}</a>' if m != data.month else f"<b>{m}</b>" for m in months)
    kpi = _table(("revenue", "cost of goods", "gross margin", "gross margin %", "unallocated cost", "credits"),
                 [(rev, cost, margin, pct(margin_pct), unallocated, credits)], {0, 1, 2, 4, 5})
    embeds = "\n".join(f"vegaEmbed('#{key}', {json.dumps(spec)}, {{renderer: 'svg', actions: false}})"
                       f".catch(e => {{ document.getElementById('{key}').textContent = 'chart failed: ' + e; "
                       f"console.error(e); }});" for key, spec in specs.items())
    columns = ("deployment", "tenant", "revenue", "cost", "margin")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cost vs revenue, {data.month}</title>
<style>{STYLE}</style><script>{script}</script></head>
<body>
<nav><a href="index.html">all months</a> {nav}</nav>
<h1>Cost vs revenue, {data.month}</h1>
<p class="note">Revenue is issued documents net of tax and credits; cost is the whole DigitalOcean bill. USD.
Run {html.escape(run_id)}.</p>
<div class="kpi" id="kpi">{kpi}</div>
<h2>Over time</h2><div id="history"></div>
<h2>Margin by deployment</h2><div id="deployments"></div>
<h2>Top and bottom deployments</h2>
<h3>Top 5</h3>{_table(columns, [(d[0], d[1], d[3], d[4], d[5]) for d in top], {2, 3, 4})}
<h3>Bottom 5</h3>{_table(columns, [(d[0], d[1], d[3], d[4], d[5]) for d in bottom], {2, 3, 4})}
<h2>Margin by resource kind</h2><div id="kinds"></div>
{_table(("resource kind", "revenue", "cost", "margin"), data.kinds, {1, 2, 3})}
<h2>Unallocated cost and its causes</h2><div id="unallocated"></div>
{_table(("cause", "cost", "cost lines"), data.unallocated, {1})}
<h2>Drill down: tenant → deployment → resource kind</h2>
<div id="drill">{_drill_down(data.drill)}</div>
<script>{embeds}</script>
</body></html>
"""


def render_index(headlines: list[tuple]) -> str:
    """The index: one row per month with its headline figures, linking to its page."""
    rows = "".join(
        f'<tr><td><a href="dashboard_{m}.html">{m}</a></td><td class="num">{usd(rev)}</td>'
        f'<td class="num">{usd(cost)}</td><td class="num">{usd(margin)}</td><td class="num">{pct(p)}</td></tr>'
        for m, rev, cost, margin, p, *_ in headlines)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cost vs revenue</title><style>{STYLE}</style></head>
<body><h1>Cost vs revenue by month</h1>
<table><thead><tr><th>month</th><th>revenue</th><th>cost of goods</th><th>gross margin</th><th>margin %</th>
</tr></thead><tbody>{rows}</tbody></table></body></html>
"""


def preview_png(data: MonthData) -> bytes:
    """The margin-by-deployment chart as a PNG for the asset page (rendered by vl-convert, no browser)."""
    import vl_convert

    return vl_convert.vegalite_to_png(deployments_spec(data), scale=1)


def write_dashboard(conn: duckdb.DuckDBPyConnection, folder: Path, months: list[str], all_months: list[str],
                    run_id: str) -> dict[str, tuple[Path, Path, int]]:
    """The pages of `months` (navigation across `all_months`), their preview images and the index;
    per month: the page, its image and how many deployments (and tenant-level rows) it ranks."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for month in months:
        data = month_data(conn, month)
        page, image = folder / f"dashboard_{month}.html", folder / f"dashboard_{month}.png"
        replace_atomically(page, render_month(data, all_months, run_id, vega_bundle(folder)).encode())
        replace_atomically(image, preview_png(data))
        written[month] = (page, image, len(data.deployments))
    headlines = history(conn, all_months[-1]) if all_months else []
    replace_atomically(folder / "index.html", render_index(headlines).encode())
    return written
