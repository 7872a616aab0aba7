"""Pure parsers of DigitalOcean documents. Every error names the document, the line and the field.

The invoice CSV is read by header name (everything as text), streamed in batches so a file of any
size parses in flat memory: column order and extra columns do not matter, `category` is optional (exports before mid-2020 lack it), amounts may be
`$1,234.56`, `-$5.00` or `$-5.00`, dates are `YYYY-MM-DD HH:MM:SS +0000` and a `23:59:59` end is
normalised to the next second so every period is half-open.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

from billing_assets.money import MoneyError, major_to_minor, parse_amount
from billing_assets.periods import PeriodError, exclusive_end, parse_timestamp

CURRENCY = "USD"  # DigitalOcean bills in USD only
CSV_REQUIRED = ("product", "group_description", "description", "hours", "start", "end", "USD", "project_name")


class ParseError(ValueError):
    """A document that cannot be parsed; the message says which one, where and what."""


@dataclass(frozen=True)
class CostLine:
    invoice_uuid: str
    line_number: int           # 1-based data row; the raw bytes' line is line_number + 1 (header)
    product: str
    group_description: str
    description: str
    hours: int | None
    start_at: datetime
    end_at: datetime           # exclusive
    amount_minor: int
    project_name: str
    category: str
    is_tax: bool
    resource_id: str | None = None
    resource_uuid: str | None = None
    source: str = "csv"


def _cents(text: str, where: str) -> int:
    try:
        return major_to_minor(parse_amount(text), CURRENCY)
    except MoneyError as exc:
        raise ParseError(f"{where}: {exc}") from None


@lru_cache(maxsize=4096)
def _timestamp(text: str, end: bool) -> datetime:
    """Cached: an invoice's million lines share a handful of start and end times (errors are not cached)."""
    value = parse_timestamp(text)
    return exclusive_end(value) if end else value


def _time(text: str, where: str, *, end: bool = False) -> datetime:
    try:
        return _timestamp(text, end)
    except PeriodError as exc:
        raise ParseError(f"{where}: {exc}") from None


def is_tax(product: str, description: str) -> bool:
    text = description.lower()
    return product == "Taxes" or "gst" in text or "tax" in text


def _decode(content: bytes, name: str) -> str:
    if not content.strip():
        raise ParseError(f"{name}: the file is empty")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name}: not UTF-8 (byte {exc.start}: {content[exc.start:exc.start + 1]!r})") from None
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "<")):
        raise ParseError(f"{name}: got an HTML/XML page instead of data (an error page from a proxy or login?)")
    return text


CSV_BATCH_ROWS = 10_000  # rows parsed (and handed on) at a time: memory stays flat whatever the file's size


def iter_invoice_csv(stream: BinaryIO, name: str, invoice_uuid: str,
                     batch_rows: int = CSV_BATCH_ROWS) -> Iterator[list[CostLine]]:
    """An invoice CSV's lines, `batch_rows` at a time, read from a binary stream: the whole file is
    never in memory, and each row is checked as it is read. Errors name the file, line and column.

    Rows are split by the csv module and keyed by the header's names: pandas' reader, the other
    header-keyed option, pads a row cut short with empty strings, which would hide a truncated line."""
    buffered = io.BufferedReader(stream, buffer_size=1024 * 1024) if not isinstance(stream, io.BufferedReader) \
        else stream
    head = buffered.peek(512)[:512].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise ParseError(f"{name}: the file is empty")
    if head.startswith(b"<"):
        raise ParseError(f"{name}: got an HTML/XML page instead of data (an error page from a proxy or login?)")
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
    last_line = ""

    def physical_lines() -> Iterator[str]:
        nonlocal last_line
        for line in text:
            last_line = line
            yield line

    try:
        rows = csv.reader(physical_lines(), strict=True)  # a quote left open is an error, not a long field
        header = [c.strip() for c in next(rows)]
        missing = [c for c in CSV_REQUIRED if c not in header]
        if missing:
            raise ParseError(f"{name}: missing required column(s) {', '.join(missing)} (header: {', '.join(header)})")
        column = {c: header.index(c) for c in (*CSV_REQUIRED, "category") if c in header}
        batch: list[CostLine] = []
        seen = 0
        for fields in rows:
            line_number = rows.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                if len(fields) < len(header) and not last_line.endswith(("\n", "\r")):
                    raise ParseError(f"{name}: the file does not end with a line break; it looks truncated")
                kind = "fewer" if len(fields) < len(header) else "more"
                raise ParseError(f"{name} line {line_number}: {kind} fields ({len(fields)}) than the header "
                                 f"({len(header)}); the file looks truncated or malformed")
            seen += 1
            batch.append(_cost_line({c: fields[i] for c, i in column.items()}, f"{name} line {line_number}",
                                    invoice_uuid, seen))
            if len(batch) == batch_rows:
                yield batch
                batch = []
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name}: not UTF-8 (byte {exc.object[exc.start:exc.start + 1]!r}); "
                         "export the CSV as UTF-8") from None
    except csv.Error as exc:
        raise ParseError(f"{name}: not a readable CSV ({exc})") from None
    if not last_line.endswith(("\n", "\r")):
        raise ParseError(f"{name}: the file does not end with a line break; it looks truncated")
    if not seen:
        raise ParseError(f"{name}: a header but no lines")
    if batch:
        yield batch


def _cost_line(row: dict[str, str], where: str, invoice_uuid: str, line_number: int) -> CostLine:
    product, description = row["product"].strip(), row["description"]
    if not product:
        raise ParseError(f"{where}, column product: empty")
    hours_text = row["hours"].strip()
    if hours_text and not hours_text.isdigit():
        raise ParseError(f"{where}, column hours: {hours_text!r} is not a whole number of hours")
    return CostLine(
        invoice_uuid=invoice_uuid, line_number=line_number, product=product,
        group_description=row["group_description"], description=description,
        hours=int(hours_text) if hours_text else None,
        start_at=_time(row["start"], f"{where}, column start"),
        end_at=_time(row["end"], f"{where}, column end", end=True),
        amount_minor=_cents(row["USD"], f"{where}, column USD"),
        project_name=row["project_name"], category=row.get("category", ""),
        is_tax=is_tax(product, description))


def parse_invoice_csv(content: bytes, name: str, invoice_uuid: str) -> list[CostLine]:
    """Every line of a CSV held in memory (tests and small files; the pipeline streams)."""
    return [line for batch in iter_invoice_csv(io.BytesIO(content), name, invoice_uuid) for line in batch]


def load_json(content: bytes, name: str) -> dict:
    text = _decode(content, name)
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(body, dict):
        raise ParseError(f"{name}: expected a JSON object, got {type(body).__name__}")
    return body


def _required(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise ParseError(f"{where}: field {key!r} is missing")
    return str(value)


def parse_invoice_items(pages: Iterable[tuple[bytes, str]], invoice_uuid: str,
                        first_line_number: int = 0) -> list[CostLine]:
    """JSON items of the given pages, numbered on from `first_line_number`; absent optional keys are
    tolerated, absent amounts are not."""
    lines: list[CostLine] = []
    for content, name in pages:
        body = load_json(content, name)
        items = body.get("invoice_items")
        if not isinstance(items, list):
            raise ParseError(f"{name}: no invoice_items list")
        for position, item in enumerate(items, start=1):
            where = f"{name} item {position}"
            if not isinstance(item, dict):
                raise ParseError(f"{where}: not an object")
            product = _required(item, "product", where)
            description = str(item.get("description") or "")
            duration = str(item.get("duration") or "").strip()
            lines.append(CostLine(
                invoice_uuid=invoice_uuid, line_number=first_line_number + len(lines) + 1, product=product,
                group_description=str(item.get("group_description") or ""), description=description,
                hours=int(duration) if duration.isdigit() else None,
                start_at=_time(_required(item, "start_time", where), f"{where}, start_time"),
                end_at=_time(_required(item, "end_time", where), f"{where}, end_time", end=True),
                amount_minor=_cents(_required(item, "amount", where), f"{where}, amount"),
                project_name=str(item.get("project_name") or ""), category=str(item.get("category") or ""),
                is_tax=is_tax(product, description), resource_id=item.get("resource_id") or None,
                resource_uuid=item.get("resource_uuid") or None, source="json"))
    return lines


@dataclass(frozen=True)
class InvoiceEntry:
    invoice_uuid: str
    invoice_id: str
    amount_minor: int
    period: str  # YYYY-MM


def parse_invoice_list(pages: list[tuple[bytes, str]]) -> tuple[list[InvoiceEntry], InvoiceEntry | None]:
    entries, preview = [], None
    for content, name in pages:
        body = load_json(content, name)
        for position, raw in enumerate(body.get("invoices") or [], start=1):
            where = f"{name} invoice {position}"
            entries.append(InvoiceEntry(_required(raw, "invoice_uuid", where), str(raw.get("invoice_id") or ""),
                                        _cents(_required(raw, "amount", where), f"{where}, amount"),
                                        _required(raw, "invoice_period", where)))
        if body.get("invoice_preview"):
            raw = body["invoice_preview"]
            preview = InvoiceEntry(str(raw.get("invoice_uuid") or ""), str(raw.get("invoice_id") or ""),
                                   _cents(str(raw.get("amount") or "0"), f"{name} invoice_preview"),
                                   str(raw.get("invoice_period") or ""))
    periods = [e.period for e in entries]
    duplicated = sorted({p for p in periods if periods.count(p) > 1})
    if duplicated:
        raise ParseError(f"invoice list: more than one invoice for {', '.join(duplicated)}")
    return entries, preview


def parse_summary_amount(content: bytes, name: str) -> int:
    return _cents(_required(load_json(content, name), "amount", name), f"{name}, amount")


def parse_balance(content: bytes, name: str) -> dict:
    body = load_json(content, name)
    return {
        "month_to_date_balance_minor": _cents(_required(body, "month_to_date_balance", name), name),
        "account_balance_minor": _cents(_required(body, "account_balance", name), name),
        "month_to_date_usage_minor": _cents(_required(body, "month_to_date_usage", name), name),
        "generated_at": _time(_required(body, "generated_at", name), f"{name}, generated_at"),
    }


BILLING_HISTORY_TYPES = {"ACHFailure", "Adjustment", "AttemptFailed", "Chargeback", "Credit", "CreditExpiration",
                         "Invoice", "Payment", "Refund", "Reversal"}


def parse_billing_history(pages: list[tuple[bytes, str]]) -> list[dict]:
    entries = []
    for content, name in pages:
        for position, raw in enumerate(load_json(content, name).get("billing_history") or [], start=1):
            where = f"{name} entry {position}"
            kind = _required(raw, "type", where)
            if kind not in BILLING_HISTORY_TYPES:
                raise ParseError(f"{where}: unknown type {kind!r}")
            entries.append({
                "entry_type": kind, "description": str(raw.get("description") or ""),
                "amount_minor": _cents(_required(raw, "amount", where), f"{where}, amount"),
                "invoice_id": raw.get("invoice_id") or None, "invoice_uuid": raw.get("invoice_uuid") or None,
                "occurred_at": _time(_required(raw, "date", where), f"{where}, date"),
            })
    return entries


def parse_resources(pages: list[tuple[bytes, str, str]]) -> list[dict]:
    """Inventory rows (kind, provider id/uuid, name, size, region, created_at, cluster) from list bodies."""
    rows = []
    for content, name, list_name in pages:
        body = load_json(content, name)
        if list_name.startswith("droplets"):
            for d in body.get("droplets") or []:
                tags = d.get("tags") or []
                cluster = next((t.split(":", 1)[1] for t in tags if t.startswith("k8s:") and t != "k8s:worker"), None)
                rows.append(("droplet", str(d["id"]), None, d.get("name"), d.get("size_slug"),
                             (d.get("region") or {}).get("slug"), d.get("created_at"), cluster, ",".join(tags)))
        elif list_name == "volumes":
            rows += [("volume", None, v["id"], v.get("name"), f"{v.get('size_gigabytes')}gb",
                      (v.get("region") or {}).get("slug"), v.get("created_at"), None, ",".join(v.get("tags") or []))
                     for v in body.get("volumes") or []]
        elif list_name == "databases":
            rows += [("database", None, d["id"], d.get("name"), d.get("size"), d.get("region"), d.get("created_at"),
                      None, ",".join(d.get("tags") or [])) for d in body.get("databases") or []]
        elif list_name == "load_balancers":
            rows += [("load_balancer", None, lb["id"], lb.get("name"), lb.get("size"),
                      (lb.get("region") or {}).get("slug"), lb.get("created_at"), None, "")
                     for lb in body.get("load_balancers") or []]
        elif list_name == "kubernetes_clusters":
            rows += [("kubernetes_cluster", None, c["id"], c.get("name"), None, c.get("region"), c.get("created_at"),
                      None, ",".join(c.get("tags") or [])) for c in body.get("kubernetes_clusters") or []]
        elif list_name == "apps":
            rows += [("app", None, a["id"], (a.get("spec") or {}).get("name"), a.get("tier_slug"), a.get("region"),
                      a.get("created_at"), None, "") for a in body.get("apps") or []]
    keys = ("kind", "provider_resource_id", "provider_uuid", "name", "size_slug", "region", "created_at",
            "cluster_uuid", "tags")
    out = []
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        record["created_at"] = _time(record["created_at"], "resource created_at") if record["created_at"] else None
        out.append(record)
    return out


def total(lines: list[CostLine]) -> int:
    return sum(line.amount_minor for line in lines)
