"""Runs of the `billing_assets` code location, executed in this process but recorded as the UI's own.

The demo used to call `execute_in_process`, whose runs belong to no code location: the job's page in
the UI said "No runs found". Here each run is created from the location's remote job (so it carries
its origin and shows under the job, with its config, tags and steps) and executed in this process by
Dagster's own run executor (no process start per run). The alternative, submitting through the run
queue and the daemon, is what an operator's UI backfill does; measured on the sample world it split
the month close into 6 runs, one per 30-second daemon tick (247 s against ~40 s here).

Uses Dagster's internal origin classes (`dagster._core`): pinned by the project's dagster version and
covered by tests/test_operator_ui.py, which finds the runs on the job's page in `dagster dev`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

# workspace.yaml's location_name: `dagster dev` lists the demo's runs under this location.
LOCATION_NAME = "billing_assets"
DEFINITIONS_MODULE = "billing_assets.definitions"


@dataclass(frozen=True)
class StepTime:
    step: str
    status: str
    seconds: float


class LocationRuns:
    """Creates and executes runs of the code location, writing Dagster's console log to `log_path`."""

    def __init__(self, instance: dg.DagsterInstance, log_path: Path):
        from dagster._core.remote_origin import InProcessCodeLocationOrigin
        from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

        self.instance = instance
        self.log_path = log_path
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE),
            location_name=LOCATION_NAME)
        with self._logging_to_file():
            self._location = origin.create_location(instance)
        (self._repository,) = self._location.get_repositories().values()

    @contextlib.contextmanager
    def _logging_to_file(self) -> Iterator[None]:
        """Dagster's console logger and warnings write to sys.stderr when a run starts: point it at the log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
            yield

    def run(self, job_name: str, run_config: Mapping | None = None,
            tags: Mapping[str, str] | None = None) -> dg.DagsterRun:
        """Execute one run of `job_name` to its end; returns the finished run (success or failure)."""
        from dagster._core.execution.api import execute_run
        from dagster._utils.hosted_user_process import recon_job_from_origin

        remote_job = self._repository.get_full_job(job_name)
        code_origin = remote_job.get_python_origin()
        recon = recon_job_from_origin(code_origin)
        job_def = recon.get_definition()
        with self._logging_to_file():
            run = self.instance.create_run_for_job(
                job_def=job_def, run_config=dict(run_config or {}), tags={**job_def.tags, **(tags or {})},
                remote_job_origin=remote_job.get_remote_origin(), job_code_origin=code_origin)
            execute_run(recon, run, self.instance, raise_on_error=False)
        return self.instance.get_run_by_id(run.run_id)

    def step_times(self, run: dg.DagsterRun) -> list[StepTime]:
        """Each step's outcome and wall time, in the order the steps started."""
        stats = sorted(self.instance.get_run_step_stats(run.run_id), key=lambda s: s.start_time or 0)
        return [StepTime(s.step_key, s.status.value if s.status else "NOT_STARTED",
                         (s.end_time or s.start_time or 0) - (s.start_time or 0)) for s in stats]

    def wall_seconds(self, run: dg.DagsterRun) -> float:
        stats = self.instance.get_run_stats(run.run_id)
        return (stats.end_time or 0) - (stats.start_time or 0)

    def failure(self, run: dg.DagsterRun) -> str:
        """The first failed step's message, one line (the stack trace stays in the log and the UI)."""
        for record in self.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            event = record.dagster_event
            error = event.step_failure_data.error if event and event.step_failure_data else None
            message = (error.message if error else record.user_message).strip().splitlines()
            return f"{event.step_key if event else '?'}: {message[0] if message else 'failed'}"
        return f"run {run.run_id} ended {run.status.value}"

    def output_metadata(self, run: dg.DagsterRun, step: str) -> Mapping[str, dg.MetadataValue]:
        """The metadata of `step`'s output (what the one-off jobs report)."""
        for record in self.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
            event = record.dagster_event
            if event and event.step_key == step:
                return event.event_specific_data.metadata
        return {}

    def stop_automation(self) -> list[str]:
        """Record every schedule and sensor of the location as STOPPED in this instance, so opening the UI
        on it launches nothing (a deployed instance keeps its own states: README, Operations)."""
        stopped = []
        for schedule in self._repository.get_schedules():
            self.instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
            stopped.append(schedule.name)
        for sensor in self._repository.get_sensors():
            self.instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            stopped.append(sensor.name)
        return sorted(stopped)
