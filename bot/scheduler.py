"""Scheduled jobs (APScheduler): escalation reminders, quality digests and model retraining.

Jobs compute what is due from the database, so a restart loses nothing and a second bot
process does not repeat what the first already claimed: every worker host runs the same jobs, and
claims and locks in the database let one of them do each thing (reminders and digests from the
holder of their channel's lock, each claimed once; a retrain from the holder of the project's
training claim). APScheduler's own job store is in
memory and never shared between processes; its misfire handling is not relied on. Which jobs
run is the serving process's choice (``bot.serve``); this module only schedules them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["CHECK_INTERVAL_SECONDS", "Job", "start_scheduler"]

CHECK_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    # Run once before serving starts (what fell due while the bot was down), then every minute;
    # otherwise the first run is right away, in the scheduler's thread.
    catch_up: bool = False


def start_scheduler(jobs: Sequence[Job]) -> BackgroundScheduler:
    """Run each job every ``CHECK_INTERVAL_SECONDS`` in APScheduler's thread, one run at a time."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in jobs:
        if job.catch_up:
            job.run()
        now = datetime.now(UTC)
        first = now + timedelta(seconds=CHECK_INTERVAL_SECONDS) if job.catch_up else now
        scheduler.add_job(
            job.run, "interval", seconds=CHECK_INTERVAL_SECONDS, id=job.name, next_run_time=first
        )
    scheduler.start()
    return scheduler
