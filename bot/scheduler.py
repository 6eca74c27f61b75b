"""Scheduled jobs (APScheduler): escalation reminders now, quality digests later.

Jobs compute what is due from the database, so a restart loses nothing and a
second bot process does not repeat what the first already claimed. APScheduler's
own job store is in memory and never shared between processes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.dispatch import Dispatcher

__all__ = ["REMINDER_INTERVAL_SECONDS", "start_scheduler"]

REMINDER_INTERVAL_SECONDS = 60


def start_scheduler(dispatcher: Dispatcher) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(
        dispatcher.send_reminders,
        "interval",
        seconds=REMINDER_INTERVAL_SECONDS,
        id="reminders",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
