"""Which item is delivered next, and its claim: without Slack."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import select

from bot import queue
from bot.model.scoring import store_ranks
from bot.queue import ClaimOutcome
from storage.db import session_scope
from storage.models import Item, ItemEvent, ItemStatus
from tests.bot.conftest import add_items, make_config

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def project_id(factory, item_id):
    with session_scope(factory) as session:
        return session.get(Item, item_id).project_id


def claim(factory, project, pid, rng=None):
    with session_scope(factory) as session:
        return queue.claim_next(session, project, pid, rng or random.Random(0), NOW)


def test_claims_in_import_order_up_to_max_open(factory):
    project = make_config(max_open=2).projects[0]
    ids = add_items(factory, 3, open_=False)
    pid = project_id(factory, ids[0])
    first = claim(factory, project, pid)
    assert (first.outcome, first.item_id, first.card.status) == (ClaimOutcome.CLAIMED, ids[0], "open")
    with session_scope(factory) as session:
        assert queue.mark_posted(session, "C0LABELS", ids[0], 1, "1.1", NOW)
        assert not queue.mark_posted(session, "C0LABELS", ids[0], 1, "1.2", NOW)  # a second post loses
        assert (
            session.scalars(select(ItemEvent.action).where(ItemEvent.item_id == ids[0])).all()[-1] == "posted"
        )
    second = claim(factory, project, pid)
    assert second.item_id == ids[1]
    with session_scope(factory) as session:
        queue.mark_posted(session, "C0LABELS", ids[1], 1, "1.3", NOW)
    assert claim(factory, project, pid).outcome == ClaimOutcome.FULL


def test_a_claimed_item_is_not_claimed_again_and_an_empty_queue_says_so(factory):
    project = make_config(max_open=5).projects[0]
    (item_id,) = add_items(factory, 1, open_=False)
    pid = project_id(factory, item_id)
    with session_scope(factory) as session:
        candidate = queue.next_queued(session, project, pid, random.Random(0))
        assert candidate is not None and candidate.id == item_id
        session.execute(Item.__table__.update().values(post_attempted_at=NOW))  # another deliverer's claim
        assert queue.claim_next(session, project, pid, random.Random(0), NOW).outcome == ClaimOutcome.TAKEN
    with session_scope(factory) as session:
        session.get(Item, item_id).status = ItemStatus.RESOLVED
    assert claim(factory, project, pid).outcome == ClaimOutcome.EMPTY


def test_the_ranking_comes_first_then_unranked_items_in_import_order(factory):
    project = make_config(max_open=10, model={"explore": 0}).projects[0]
    ids = add_items(factory, 4, open_=False)
    pid = project_id(factory, ids[0])
    store_ranks(factory, pid, [ids[2], ids[0]], [3, 1], [0.9, 0.1])
    order = []
    for _ in range(4):
        picked = claim(factory, project, pid)
        order.append(picked.item_id)
        with session_scope(factory) as session:
            queue.mark_posted(session, "C0LABELS", picked.item_id, 1, f"1.{picked.item_id}", NOW)
    assert order == [ids[2], ids[0], ids[1], ids[3]]


def test_gold_items_are_mixed_in_at_the_gold_rate(factory):
    project = make_config(max_open=10, quality={"gold_rate": 1.0}).projects[0]
    ids = add_items(factory, 3, open_=False)
    with session_scope(factory) as session:
        session.get(Item, ids[2]).gold_label = "bug"
    pid = project_id(factory, ids[0])
    assert claim(factory, project, pid).item_id == ids[2]  # rate 1: the gold item first


def test_a_click_on_the_message_records_a_claimed_items_post(factory):
    from bot.refs import Click

    project = make_config(max_open=5).projects[0]
    ids = add_items(factory, 2, open_=False)
    pid = project_id(factory, ids[0])
    on_message = Click("C0LABELS", "1.5")
    with session_scope(factory) as session:  # not claimed yet: a click proves nothing
        assert not queue.open_from_click(session, ids[0], 1, on_message, "C0LABELS", NOW)
    assert claim(factory, project, pid).item_id == ids[0]
    with session_scope(factory) as session:
        for elsewhere in (Click("C0OTHER", "1.5"), Click("C0LABELS", "1.5", ephemeral=True), Click()):
            assert not queue.open_from_click(session, ids[0], 1, elsewhere, "C0LABELS", NOW)
        assert not queue.open_from_click(session, ids[0], 2, on_message, "C0LABELS", NOW)  # wrong round
        assert queue.open_from_click(session, ids[0], 1, on_message, "C0LABELS", NOW)
    with session_scope(factory) as session:
        item = session.get(Item, ids[0])
        assert (item.status, item.channel, item.message_ts) == (ItemStatus.OPEN, "C0LABELS", "1.5")
        # the poster records its post afterwards: the same message is kept, another one loses
        assert queue.mark_posted(session, "C0LABELS", ids[0], 1, "1.5", NOW)
        assert not queue.mark_posted(session, "C0LABELS", ids[0], 1, "1.6", NOW)
