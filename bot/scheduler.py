"""Scheduled jobs (APScheduler): escalation reminders and quality digests, every minute.

Jobs compute what is due from the database, so a restart loses nothing and a
second bot process does not repeat what the first already claimed. APScheduler's
own job store is in memory and never shared between processes; its misfire
handling is not relied on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.digest_poster import DigestPoster
from bot.dispatch import Dispatcher

__all__ = ["CHECK_INTERVAL_SECONDS", "start_scheduler"]

CHECK_INTERVAL_SECONDS = 60


def start_scheduler(dispatcher: Dispatcher, digests: DigestPoster, models: Any = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    # What fell due while the bot was down is handled before it starts serving.
    dispatcher.send_reminders()
    digests.post_due()
    now = datetime.now(UTC) + timedelta(seconds=CHECK_INTERVAL_SECONDS)
    scheduler.add_job(
        dispatcher.send_reminders,
        "interval",
        seconds=CHECK_INTERVAL_SECONDS,
        id="reminders",
        next_run_time=now,
    )
    scheduler.add_job(
        digests.post_due, "interval", seconds=CHECK_INTERVAL_SECONDS, id="digests", next_run_time=now
    )
    if models is not None:
        # Training runs in its own process (bot.model_service): this job only starts it.
        scheduler.add_job(
            models.check,
            "interval",
            seconds=CHECK_INTERVAL_SECONDS,
            id="models",
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    return scheduler
