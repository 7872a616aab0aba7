"""What a usage snapshot reads: the whole usage_events table, or only the events that can have changed.

Usage events are the one source table that grows without bound; read whole, the close of month 24
copies 24 months of events. By the source contract they are append-only (a correction is a reversal,
never an edit), so a snapshot may keep the events it staged before and re-read only those received
from a cut-off on: the earlier of the latest staged `received_at` and the last usage snapshot, less a
look-back for events committed late with an earlier `received_at` (a long ingest transaction, clock
skew between ingest nodes). It does so only where the outcome is provably the one a full read gives,
and otherwise reads everything and says why:

- `full_refresh` was asked for; a Parquet drop (a complete file by contract); a source that does not
  type `received_at` as a timestamp (SQLite: text compares as text, not as time);
- no earlier usage snapshot to build on, or the last one read another source;
- refused usage events outstanding (their fix may be an edit of an event before any cut-off);
- a staged event above the current `max_event_quantity` (the limit was lowered: a full read refuses it);
- the source counts a different number of events received before the cut-off than staging holds
  (an event deleted, or inserted with an old `received_at`): one indexed count in the source;
- after reading, an idempotency key of the re-read events is also carried before the cut-off by an
  event of other content (a full read refuses every copy): `sql/source/usage_conflicts_before_cutoff.sql`.

An in-place edit of an event received before the cut-off, keeping the count, is the one change this
cannot see. The contract forbids it; when a platform broke it, `full_refresh` re-reads everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from billing_assets.source.reader import natively_typed_columns, open_reader, redacted
from billing_assets.source.validation import Limits

DEFAULT_LOOKBACK_HOURS = 24
TIMESTAMP_TYPES = ("timestamp without time zone", "timestamp with time zone")


@dataclass(frozen=True)
class UsageRead:
    """`since` None: the whole table. Otherwise the events received from `since` (naive UTC) on, and
    `received_at_type` says how the source types the column (a zoned one is compared with a zoned instant)."""

    since: datetime | None
    reason: str
    received_at_type: str | None = None

    @property
    def source_since(self) -> datetime | None:
        """The cut-off as the source compares it."""
        return None if self.since is None else as_source_instant(self.since, self.received_at_type)


def as_source_instant(naive_utc: datetime, received_at_type: str | None) -> datetime:
    """A naive UTC instant as the source's received_at compares it: a zoned column, with a zoned instant."""
    return naive_utc.replace(tzinfo=UTC) if received_at_type == "timestamp with time zone" else naive_utc


def plan_usage_read(conn, url: str, parquet_drop: str | None, limits: Limits, full_refresh: bool,
                    lookback: timedelta) -> UsageRead:
    """Decide what this usage snapshot reads (module docstring: every reason to read the whole table)."""
    if full_refresh:
        return UsageRead(None, "full_refresh was asked for")
    if parquet_drop:
        return UsageRead(None, "a Parquet drop is read whole (a complete file by contract)")
    kind = natively_typed_columns(url, "usage_events").get("received_at")
    if kind not in TIMESTAMP_TYPES:
        return UsageRead(None, "the source does not type received_at as a timestamp (text compares as text, "
                               "not as time)")
    previous, previous_source = conn.execute(
        "SELECT snapshot_at, source FROM staging.snapshot_log WHERE table_name = 'usage_events' "
        "ORDER BY snapshot_at DESC LIMIT 1").fetchone() or (None, None)
    latest, over_limit = conn.execute(
        "SELECT max(received_at), count(*) FILTER (WHERE quantity > ?) FROM staging.usage_events",
        [limits.max_event_quantity]).fetchone()
    if previous is None or latest is None:
        return UsageRead(None, "no earlier usage snapshot to build on")
    if previous_source != redacted(url):
        return UsageRead(None, f"the last usage snapshot read another source ({previous_source})")
    refused = conn.execute("SELECT count(*) FROM staging.source_rejections WHERE table_name = 'usage_events'"
                           ).fetchone()[0]
    if refused:
        return UsageRead(None, f"{refused} refused usage event value(s) outstanding: their fix may be an edit "
                               f"of an event received before any cut-off")
    if over_limit:
        return UsageRead(None, f"{over_limit} staged event(s) above max_event_quantity "
                               f"{limits.max_event_quantity:,}: a full read refuses them")
    since = min(latest, previous) - lookback
    staged = conn.execute("SELECT count(*) FROM staging.usage_events WHERE received_at < ?", [since]).fetchone()[0]
    held = source_count_before(url, as_source_instant(since, kind))
    if held != staged:
        return UsageRead(None, f"the source holds {held:,} events received before {since:%Y-%m-%d %H:%M:%S} UTC "
                               f"and staging {staged:,}: an event was deleted, or inserted with an old received_at")
    return UsageRead(since, f"{staged:,} staged events received before the cut-off match the source's count "
                            f"(latest staged event or last snapshot, less {lookback})", kind)


def source_count_before(url: str, since: datetime) -> int:
    """How many usage events the source holds received before `since` (its received_at index answers)."""
    with open_reader(url, "SELECT count(*) AS n FROM usage_events WHERE received_at < $1",
                     parameters=(since,)) as reader:
        return reader.read_all().column("n")[0].as_py()
