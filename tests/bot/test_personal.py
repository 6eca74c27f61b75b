"""Personal queues and their leases, without Slack (``bot.personal``, ``bot.leases``)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import labeling, personal, queue
from bot.labeling import LabelOutcome
from bot.personal import NotStarting
from bot.refs import Click, ItemRef
from storage.db import session_scope
from storage.models import Item, ItemStatus, LabelingSession, Lease, Project
from tests.bot.conftest import add_items, allow, make_config

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
DM = "D0DMUSER"


def _pid(factory):
    with session_scope(factory) as session:
        return session.scalar(select(Project.id).where(Project.key == "support"))


def _start(factory, project, user, now=NOW, rng=None):
    """A session for ``user`` showing its first item; returns (session id, card, message click)."""
    pid = _pid(factory)
    with session_scope(factory) as session:
        row, _ = personal.start(session, allow(project, user), pid, now)
        card = personal.advance(session, row, project, rng or random.Random(0), now)
        ts = f"1800000000.{row.id:06d}"
        personal.message_recorded(session, row.id, f"D{user}", ts)
        return row.id, card, Click(channel=f"D{user}", message_ts=ts)


def test_fifty_people_asking_at_once_get_an_item_that_needs_three_labels_at_most_three_times(
    committing_factory,
):
    project = make_config(delivery="dm").projects[0]
    (item_id,) = add_items(committing_factory, 1, open_=False)
    pid = _pid(committing_factory)
    barrier = threading.Barrier(50)
    got: list[str] = []
    errors: list[BaseException] = []

    def ask(user: str) -> None:
        try:
            barrier.wait()
            with session_scope(committing_factory) as session:
                row, _ = personal.start(session, allow(project, user), pid, NOW)
                if personal.advance(session, row, project, random.Random(), NOW) is not None:
                    got.append(user)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(f"U{i:04d}",)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(got) == 3
    with session_scope(committing_factory) as session:
        holders = session.scalars(select(Lease.user_id).where(Lease.item_id == item_id)).all()
        assert sorted(holders) == sorted(got)


def test_a_session_labels_one_item_after_another_with_undo_skip_and_a_summary(factory):
    project = make_config(delivery="dm", annotators_per_item=2).projects[0]
    ids = add_items(factory, 3, open_=False)
    sid, card, where = _start(factory, project, "U0ANN1")
    assert card is not None and card.item_id == ids[0] and card.status == ItemStatus.OPEN
    rng = random.Random(0)
    with session_scope(factory) as session:
        view = personal.label(session, allow(project, "U0ANN1"), card.ref, "bug", where, rng, NOW)
    assert view.answered is not None and view.answered.option.value == "bug" and view.answered.can_undo
    assert view.card is not None and view.card.item_id == ids[1] and view.labels == 1
    with session_scope(factory) as session:
        # The label counts in the lease's place; the next item is leased now.
        assert session.scalars(select(Lease.item_id).where(Lease.user_id == "U0ANN1")).all() == [ids[1]]
        assert labeling.current_votes(session, ids[0]) == {"U0ANN1": "bug"}
        undone = personal.undo(session, allow(project, "U0ANN1"), ItemRef(ids[0], 1), where, NOW)
    assert undone.card is not None and undone.card.item_id == ids[0] and "Undone" in (undone.notice or "")
    with session_scope(factory) as session:
        assert labeling.current_votes(session, ids[0]) == {}
        again = personal.label(session, allow(project, "U0ANN1"), ItemRef(ids[0], 1), "other", where, rng)
        assert again.card is not None and again.card.item_id == ids[1]
        skipped = personal.skip(session, allow(project, "U0ANN1"), again.card.ref, where, rng)
        assert skipped.answered is not None and skipped.answered.option is None
        assert skipped.card is not None and skipped.card.item_id == ids[2]
        stopped = personal.stop(session, allow(project, "U0ANN1"), where, NOW + timedelta(minutes=2))
    assert stopped.summary is not None
    assert (stopped.summary.labels, stopped.summary.skips, stopped.summary.seconds) == (1, 1, 120.0)
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(Lease)) == 0  # Stop gives items back
        assert session.get(LabelingSession, sid).end_reason == "stopped"
        gone = personal.label(session, allow(project, "U0ANN1"), ItemRef(ids[2], 1), "bug", where, rng)
    assert gone.session_id == 0 and "ended" in (gone.notice or "")


def test_a_click_counts_only_on_the_users_own_session_message(factory):
    project = make_config(delivery="dm").projects[0]
    add_items(factory, 2, open_=False)
    _sid, card, where = _start(factory, project, "U0ANN1")
    elsewhere = Click(channel="D0OTHER", message_ts=where.message_ts)
    with session_scope(factory) as session:
        # Another user pressing a copy of the button: not their session, nothing recorded.
        view = personal.label(session, allow(project, "U0ANN2"), card.ref, "bug", where, random.Random(0))
        assert view.session_id == 0
        refused = labeling.record_label(session, allow(project, "U0ANN1"), card.ref, "bug", click=elsewhere)
        assert refused.kind == LabelOutcome.REFUSED
        assert labeling.current_votes(session, card.item_id) == {}


def test_people_never_get_an_item_they_labeled_or_skipped_and_open_items_come_first(factory):
    project = make_config(delivery="both").projects[0]
    ids = add_items(factory, 3, open_=False)
    with session_scope(factory) as session:
        session.get(Item, ids[2]).status = ItemStatus.OPEN  # already in the channel
        session.get(Item, ids[2]).posted_at = NOW
        session.get(Item, ids[2]).channel, session.get(Item, ids[2]).message_ts = "C0LABELS", "1.1"
    _sid, card, _where = _start(factory, project, "U0ANN1")
    assert card.item_id == ids[2]
    with session_scope(factory) as session:
        labeling.record_label(session, allow(project, "U0ANN2"), ItemRef(ids[2], 1), "bug")
        labeling.skip_item(session, allow(project, "U0ANN2"), ItemRef(ids[2], 1))
    _sid, card2, _ = _start(factory, project, "U0ANN2")
    assert card2.item_id == ids[0]  # the open one is labeled by them: the first queued instead


def test_leases_expire_and_a_channel_click_is_never_blocked_by_one(factory):
    project = make_config(annotators_per_item=1).projects[0]
    (item_id,) = add_items(factory, 1, open_=False)
    _sid, card, _ = _start(factory, project, "U0ANN1")
    assert card is not None
    _sid2, nothing, _ = _start(factory, project, "U0ANN2")
    assert nothing is None  # one label needed, one live lease: full
    later = NOW + project.lease + timedelta(seconds=1)
    _sid3, expired, _ = _start(factory, project, "U0ANN3", now=later)
    pid = _pid(factory)
    assert expired is not None and expired.item_id == item_id  # the lease expired: given again
    with session_scope(factory) as session:
        # Not posted to the channel while leased (leased items don't count toward max_open either).
        assert queue.claim_next(session, project, pid, random.Random(0), later).outcome == "empty"
        item = session.get(Item, item_id)
        item.status, item.channel, item.message_ts = ItemStatus.OPEN, "C0LABELS", "1.5"
    with session_scope(factory) as session:
        channel = Click(channel="C0LABELS", message_ts="1.5")
        result = labeling.record_label(
            session, allow(project, "U0ANN4"), ItemRef(item_id, 1), "bug", click=channel
        )
        assert result.kind == LabelOutcome.RECORDED and result.closed_item
        assert session.scalar(select(func.count()).select_from(Lease)) == 0  # closed: leases end


def test_a_label_arriving_after_the_item_has_what_it_needs_is_refused_and_the_session_moves_on(factory):
    project = make_config(annotators_per_item=1).projects[0]
    ids = add_items(factory, 2, open_=False)
    _sid, card, where = _start(factory, project, "U0ANN1")
    with session_scope(factory) as session:
        item = session.get(Item, card.item_id)
        item.status, item.channel, item.message_ts = ItemStatus.OPEN, "C0LABELS", "1.7"
    with session_scope(factory) as session:
        labeling.record_label(
            session,
            allow(project, "U0ANN2"),
            card.ref,
            "bug",
            click=Click(channel="C0LABELS", message_ts="1.7"),
        )
    with session_scope(factory) as session:
        assert personal.stale_sessions(session) == [_sid]
        view = personal.label(session, allow(project, "U0ANN1"), card.ref, "other", where, random.Random(0))
    assert "resolved" in (view.notice or "") and view.card is not None and view.card.item_id == ids[1]
    with session_scope(factory) as session:
        assert labeling.current_votes(session, ids[0]) == {"U0ANN2": "bug"}


def test_dynamic_overlap_needs_one_more_label_while_undecided():
    project = make_config(annotators_per_item={"min": 2, "max": 4}).projects[0]
    assert personal.labels_needed_now({}, project, None, None) == 2
    assert personal.labels_needed_now({"a": "bug", "b": "other"}, project, None, None) == 3
    assert personal.labels_needed_now({"a": "bug", "b": "bug"}, project, None, None) == 3
    assert (
        personal.labels_needed_now({"a": "bug", "b": "bug"}, project, "bug", 0.95) == 2
    )  # a confident model agrees
    assert personal.labels_needed_now(dict.fromkeys("abcd", "bug"), project, None, None) == 4


def test_why_a_session_cannot_start(factory):
    add_items(factory, 1, open_=False)
    pid = _pid(factory)
    with session_scope(factory) as session:
        channel_only = make_config(delivery="channel").projects[0]
        assert personal.why_not_start(session, channel_only, pid) == NotStarting.CHANNEL_ONLY
        both = make_config().projects[0]
        assert personal.why_not_start(session, both, None) == NotStarting.NO_ITEMS
        assert personal.why_not_start(session, both, pid) is None
        session.get(Project, pid).paused_at = NOW
        assert personal.why_not_start(session, both, pid) == NotStarting.PAUSED


def test_a_dm_only_project_posts_nothing_new_to_its_channel(factory):
    project = make_config(delivery="dm").projects[0]
    add_items(factory, 2, open_=False)
    pid = _pid(factory)
    with session_scope(factory) as session:
        assert queue.claim_next(session, project, pid, random.Random(0), NOW).outcome == "empty"


def test_a_lease_stops_counting_once_its_holder_labeled_the_item_anywhere(factory):
    project = make_config(annotators_per_item=2).projects[0]
    (item_id,) = add_items(factory, 1, open_=True)
    _sid, card, _ = _start(factory, project, "U0ANN1")
    assert card is not None and card.item_id == item_id
    with session_scope(factory) as session:
        ts = session.get(Item, item_id).message_ts
        channel = Click(channel="C0LABELS", message_ts=ts)
        assert labeling.record_label(
            session, allow(project, "U0ANN1"), card.ref, "bug", click=channel
        ).kind == (LabelOutcome.RECORDED)
    # One label and U0ANN1's lease (no longer counting): room for one more person.
    _sid2, second, _ = _start(factory, project, "U0ANN2")
    assert second is not None and second.item_id == item_id
    _sid3, third, _ = _start(factory, project, "U0ANN3")
    assert third is None
