"""The weekly quality digest: when it is due, and posting it exactly once per period.

Schedules are crontab lines with crontab's weekday numbering (Sunday = 0 or 7)
or day names; APScheduler's ``CronTrigger.from_crontab`` numbers weekdays from
Monday = 0, so numbers are translated to names first.

Exactly once comes from the database, not from APScheduler's misfire handling:
the period is *claimed* by inserting its row (unique per project and period
start), the message carries metadata naming the period, the ts is recorded, and
a claim left behind by a crash is reconciled from the channel history. A period
that fell due while the bot was down is posted once when it comes back (only the
latest such period: older ones are history, not news).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import DigestConfig, ProjectConfig
from bot.feedback import Feedback, private_feedback
from bot.reports import Period, build_report, weekly_trend
from storage.db import changed
from storage.models import Digest, DigestStatus, utcnow

__all__ = [
    "CLAIM_TIMEOUT",
    "DIGEST_EVENT_TYPE",
    "DigestContent",
    "DuePeriod",
    "claim_period",
    "cron_trigger",
    "current_period",
    "digest_content",
    "due_period",
    "period_label",
    "record_posted",
    "release_claim",
    "translate_weekdays",
]

DIGEST_EVENT_TYPE = "labelbot_digest"
CLAIM_TIMEOUT = timedelta(minutes=10)
DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _weekday_numbers(part: str) -> list[int]:
    step = 1
    if "/" in part:
        part, step_text = part.split("/", 1)
        step = int(step_text)
    if part == "*":
        start, end = 0, 6
    elif "-" in part:
        a, b = part.split("-", 1)
        start, end = int(a), int(b)
    else:
        start = end = int(part)
    if not (0 <= start <= 7 and 0 <= end <= 7 and start <= end and step >= 1):
        raise ValueError(f"weekday {part!r} is out of range 0-7")
    return [n % 7 for n in range(start, end + 1, step)]


def translate_weekdays(field: str) -> str:
    """Crontab's weekday field (Sunday = 0 or 7) as day names, which APScheduler reads unambiguously."""
    if field == "*":
        return "*"
    if re.fullmatch(r"[a-zA-Z,\-]+", field):
        return field.lower()
    numbers: list[int] = []
    for part in field.split(","):
        if re.fullmatch(r"[a-zA-Z]{3}(-[a-zA-Z]{3})?", part):
            raise ValueError("mix day names and numbers in separate schedules")
        numbers += _weekday_numbers(part)
    ordered = sorted(set(numbers), key=lambda n: (n + 6) % 7)  # Monday first, as APScheduler lists them
    return ",".join(DAY_NAMES[n] for n in ordered)


def cron_trigger(schedule: str, timezone: str) -> CronTrigger:
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"{schedule!r} is not a five-field crontab line")
    fields[4] = translate_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(timezone))


def _fire_times(trigger: CronTrigger, start: datetime, end: datetime, limit: int = 20_000) -> list[datetime]:
    times: list[datetime] = []
    previous = None
    now = start
    while len(times) < limit:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            break
        times.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return times


@dataclass(frozen=True)
class DuePeriod:
    start: datetime  # the previous fire time
    end: datetime  # the fire time at which the digest is due


def due_period(config: DigestConfig, now: datetime) -> DuePeriod | None:
    """The latest period whose digest is due at ``now``: between the last two fire times."""
    trigger = cron_trigger(config.schedule, config.timezone)
    for lookback in (
        timedelta(hours=2),
        timedelta(days=2),
        timedelta(days=9),
        timedelta(days=63),
        timedelta(days=400),
    ):
        times = _fire_times(trigger, now - lookback, now)
        if len(times) >= 2:
            return DuePeriod(times[-2].astimezone(now.tzinfo), times[-1].astimezone(now.tzinfo))
    return None


def claim_period(
    session: Session, project_id: int, period: DuePeriod, channel: str, now: datetime | None = None
) -> Digest | None:
    """Claim a period for posting; None when it is posted or another process is posting it.

    A claim older than ``CLAIM_TIMEOUT`` that never got its ts is taken over: the
    caller must first look for a message that the crashed poster may have left.
    """
    now = now or utcnow()
    existing = session.scalar(
        select(Digest).where(Digest.project_id == project_id, Digest.period_start == period.start)
    )
    if existing is None:
        try:
            with session.begin_nested():
                row = Digest(
                    project_id=project_id,
                    period_start=period.start,
                    period_end=period.end,
                    status=DigestStatus.CLAIMED,
                    channel=channel,
                    claimed_at=now,
                )
                session.add(row)
            return row
        except IntegrityError:
            return None
    if existing.status == DigestStatus.POSTED or now - existing.claimed_at < CLAIM_TIMEOUT:
        return None
    taken = changed(
        session.execute(
            update(Digest)
            .where(
                Digest.id == existing.id,
                Digest.status == DigestStatus.CLAIMED,
                Digest.claimed_at == existing.claimed_at,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not taken:
        return None
    session.refresh(existing)
    return existing


def record_posted(session: Session, digest_id: int, ts: str, now: datetime) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(status=DigestStatus.POSTED, message_ts=ts, posted_at=now)
    )


def release_claim(session: Session, digest_id: int, now: datetime) -> None:
    """A failed post gives the claim back at once, so the next run retries."""
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == DigestStatus.CLAIMED)
        .values(claimed_at=now - timedelta(days=1))
    )


def current_period(config: DigestConfig, now: datetime) -> tuple[datetime, datetime]:
    """From the last scheduled digest (or a week ago) to now: what ``digest`` and ``/label stats`` show."""
    due = due_period(config, now)
    return (due.end if due else now - timedelta(days=7)), now


def period_label(start: datetime, end: datetime, tz: str) -> str:
    zone = ZoneInfo(tz)
    return f"{start.astimezone(zone):%a %d %b %Y %H:%M} to {end.astimezone(zone):%a %d %b %Y %H:%M} ({tz})"


@dataclass(frozen=True)
class DigestContent:
    """What a digest shows: this period's report, the previous period's, eight weeks of trend;
    and what goes privately to annotators below the bar and to admins (``feedback``)."""

    report: dict[str, Any]
    previous: dict[str, Any]
    weeks: list[dict[str, Any]]
    confusion: pd.DataFrame
    label: str  # the period, in the digest's time zone
    feedback: Feedback


def digest_content(
    session: Session, project: ProjectConfig, project_id: int, start: datetime, end: datetime
) -> DigestContent:
    extras: dict[str, Any] = {}
    report = build_report(session, project, project_id, Period(start, end), dawid_skene=False, extras=extras)
    previous = build_report(
        session, project, project_id, Period(start - (end - start), start), dawid_skene=False
    )
    weeks = weekly_trend(session, project_id, end)
    label = period_label(start, end, project.digest.timezone)
    feedback = private_feedback(
        extras["labels"], extras["annotator_stats"], project.quality.min_gold_accuracy
    )
    return DigestContent(report, previous, weeks, extras["confusion"], label, feedback)
