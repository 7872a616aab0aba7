"""A revenue-vs-cost bar chart as SVG: pure string building, no plotting library, deterministic bytes."""

from __future__ import annotations

from html import escape

from billing_assets.money import minor_to_major


def revenue_cost_svg(title: str, rows: list[tuple[str, int, int]], width: int = 760) -> str:
    """rows: (label, revenue cents, cost cents). Two horizontal bars per label, one scale."""
    bar, gap, left, top = 12, 10, 170, 40
    height = top + len(rows) * (2 * bar + gap) + 30
    peak = max([max(abs(r), abs(c)) for _, r, c in rows] + [1])
    scale = (width - left - 90) / peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{width - 200}" y="10" width="10" height="10" fill="#2a9d8f"/>'
             f'<text x="{width - 185}" y="19">revenue</text>',
             f'<rect x="{width - 120}" y="10" width="10" height="10" fill="#e76f51"/>'
             f'<text x="{width - 105}" y="19">cost</text>']
    for index, (label, revenue, cost) in enumerate(rows):
        y = top + index * (2 * bar + gap)
        parts.append(f'<text x="{left - 6}" y="{y + bar + 3}" text-anchor="end">{escape(label)}</text>')
        for offset, value, colour in ((0, revenue, "#2a9d8f"), (bar, cost, "#e76f51")):
            length = max(1, round(abs(value) * scale))
            parts.append(f'<rect x="{left}" y="{y + offset}" width="{length}" height="{bar - 1}" fill="{colour}"/>')
            parts.append(f'<text x="{left + length + 4}" y="{y + offset + bar - 2}">{minor_to_major(value, "USD"):,}</text>')
    parts.append("</svg>")
    return "".join(parts)


MARKDOWN_LIMIT = 990  # the Dagster UI shows markdown metadata under 1,000 characters inline, longer behind a toggle
BAR_CELLS = 12


def revenue_cost_markdown(title: str, rows: list[tuple[str, int, int]]) -> str:
    """The same chart as text bars in a markdown table, short enough to show inline on the asset page;
    with too many bars the middle ones (by margin) give way, and the table says how many."""
    peak = max([max(abs(r), abs(c)) for _, r, c in rows] + [1])

    def bar(value: int) -> str:
        return "▇" * max(1 if value else 0, round(abs(value) * BAR_CELLS / peak))

    def row(label: str, r: int, c: int) -> str:
        return f"| {label} | {bar(r)} {minor_to_major(r, 'USD'):,} | {bar(c)} {minor_to_major(c, 'USD'):,} |"

    keep = min(len(rows), 40)  # more never fits
    while True:
        head, tail = rows[:(keep + 1) // 2], rows[len(rows) - keep // 2:] if keep > 1 else []
        hidden = len(rows) - len(head) - len(tail)
        lines = [f"**{title}**", "", "| | revenue | cost |", "|---|---|---|", *(row(*r) for r in head)]
        lines += [f"| … {hidden} more (the SVG has all) | | |"] if hidden else []
        lines += [row(*r) for r in tail]
        text = "\n".join(lines)
        if len(text) <= MARKDOWN_LIMIT or keep == 0:
            return text
        keep -= 1
