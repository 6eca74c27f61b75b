from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import DigestConfig
from bot.digest import DuePeriod, claim_period, cron_trigger, due_period, translate_weekdays
from storage.db import session_scope
from storage.models import Project


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("mon", "mon"),
        ("MON-FRI", "mon-fri"),
        ("*", "*"),
    ],
)
def test_crontab_weekdays_become_names(field, expected):
    assert translate_weekdays(field) == expected


def test_monday_schedule_fires_on_a_monday_in_its_timezone():
    for schedule in ("0 9 * * 1", "0 9 * * mon"):
        trigger = cron_trigger(schedule, "Europe/Berlin")
        start = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday
        fire = trigger.get_next_fire_time(None, start)
        local = fire.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.strftime("%A"), local.hour) == ("Monday", 9)
    sunday = cron_trigger("0 9 * * 0", "UTC").get_next_fire_time(None, datetime(2026, 11, 26, tzinfo=UTC))
    assert sunday.strftime("%A") == "Sunday"


def test_due_period_is_between_the_last_two_fire_times():
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)  # Friday
    due = due_period(DigestConfig(), now)
    assert due.end == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert due.start == due.end - timedelta(days=7)


def test_period_is_claimed_once(factory):
    period = DuePeriod(datetime(2026, 11, 16, 9, tzinfo=UTC), datetime(2026, 11, 23, 9, tzinfo=UTC))
    with session_scope(factory) as session:
        project = Project(key="p")
        session.add(project)
        session.flush()
        pid = project.id
    with session_scope(factory) as session:
        assert claim_period(session, pid, period, "C1") is not None
    with session_scope(factory) as session:
        assert claim_period(session, pid, period, "C1") is None  # claimed and fresh
    later = datetime.now(UTC) + timedelta(minutes=11)
    with session_scope(factory) as session:
        assert claim_period(session, pid, period, "C1", now=later) is not None  # stale claim taken over
