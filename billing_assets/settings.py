"""Where things live when nobody configured anything: everything under one data directory.

Only non-secret locations are resolved here; secrets are passed to resources as `dg.EnvVar`
so their values never reach run config, logs or the UI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".billing"


@dataclass(frozen=True)
class Locations:
    home: Path

    @property
    def warehouse_path(self) -> Path:
        return Path(os.environ.get("BILLING_WAREHOUSE_PATH") or self.home / "warehouse.duckdb")

    @property
    def duckdb_memory_limit(self) -> str | None:
        """None: the warehouse resource's default."""
        return os.environ.get("BILLING_DUCKDB_MEMORY_LIMIT") or None

    @property
    def sample_source_path(self) -> Path:
        return self.home / "source.sqlite"

    @property
    def source_url(self) -> str:
        return os.environ.get("BILLING_SOURCE_URL") or f"sqlite:///{self.sample_source_path}"

    @property
    def do_export_dir(self) -> Path:
        return Path(os.environ.get("BILLING_DO_EXPORT_DIR") or self.home / "digitalocean")

    @property
    def fx_rates_csv(self) -> str | None:
        """The deployment's FX table, which the scheduled close reads (it carries no run config); None: the
        table shipped with the package."""
        return os.environ.get("BILLING_FX_RATES_CSV") or None

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster_home")


def locations() -> Locations:
    return Locations(home=Path(os.environ.get("BILLING_HOME") or DEFAULT_HOME).resolve())


def automation_running() -> bool:
    """Schedules and sensors start RUNNING (a deployed location closes months unattended) unless
    BILLING_AUTOMATION_DEFAULT=stopped (staging, tests, a one-off backfill host)."""
    value = (os.environ.get("BILLING_AUTOMATION_DEFAULT") or "running").strip().lower()
    if value not in ("running", "stopped"):
        raise ValueError(f"BILLING_AUTOMATION_DEFAULT must be 'running' or 'stopped', not {value!r}")
    return value == "running"


def schedule_status():
    import dagster as dg

    return dg.DefaultScheduleStatus.RUNNING if automation_running() else dg.DefaultScheduleStatus.STOPPED


def sensor_status():
    import dagster as dg

    return dg.DefaultSensorStatus.RUNNING if automation_running() else dg.DefaultSensorStatus.STOPPED


def secret_env(name: str):
    """A secret as `dg.EnvVar` (Dagster resolves it at run time and never shows its value), or None
    when the variable is unset (the feature is off)."""
    import dagster as dg

    return dg.EnvVar(name) if os.environ.get(name) else None
