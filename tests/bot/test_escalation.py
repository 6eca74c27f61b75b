"""Escalation rules without Slack: eligibility, an annotator's escalation, the first decision wins,
send back, threads waiting to be posted, reminders claimed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import escalation
from bot.authorization import Action
from bot.escalation import DecisionOutcome
from bot.labeling import record_label
from bot.refs import ItemRef
from storage.db import session_scope
from storage.models import Escalation, Item, ItemEvent, ItemStatus, Label
from tests.bot.conftest import add_items, allow


def disagree(factory, project, item_id):
    with session_scope(factory) as session:
        for user, value in (("U1", "billing"), ("U2", "bug"), ("U3", "other")):
            record_label(session, allow(project, user), ItemRef(item_id, 1), value)
        return session.scalar(select(Escalation.id).where(Escalation.item_id == item_id))


def decider(project, esc_id, user="U0EXPERT"):
    return allow(project, user, Action.DECIDE, esc_id)


def test_routing_takes_defaults_labels_and_fields_in_order_without_duplicates(project):
    routed = escalation.route_experts(project, ["billing", "bug"], {"language": "de"})
    assert routed == ["U0EXPERT", "U0FIN", "U0DE"]
    assert escalation.route_experts(project, ["other"], {"language": "en"}) == ["U0EXPERT"]


def test_what_can_be_escalated(factory, project):
    open_id, queued_id = add_items(factory, 2)
    with session_scope(factory) as session:
        session.get(Item, queued_id).status = ItemStatus.QUEUED
        item = session.get(Item, open_id)
        assert escalation.why_not_escalable(session, item, ItemRef(open_id, 1)) is None
        assert "cannot be escalated" in escalation.why_not_escalable(session, item, ItemRef(open_id, 2))
        queued = session.get(Item, queued_id)
        assert "queued" in escalation.why_not_escalable(session, queued, ItemRef(queued_id, 1))


def test_an_annotator_escalates_an_open_item_once(factory, project):
    (item_id,) = add_items(factory, 1, meta={"language": "de"})
    with session_scope(factory) as session:
        record_label(session, allow(project, "U1"), ItemRef(item_id, 1), "bug")
        permit = allow(project, "U2", Action.ESCALATE)
        bad = escalation.escalate(session, permit, ItemRef(item_id, 1), "why", suggested_label="nope")
        assert bad.refused and bad.field == "suggested"
        done = escalation.escalate(session, permit, ItemRef(item_id, 1), "Is it a refund?", "billing")
        assert done.refused is None and done.escalation is not None
        assert (done.escalation.reason, done.escalation.raised_by, done.escalation.note) == (
            "annotator",
            "U2",
            "Is it a refund?",
        )
        assert done.escalation.experts == ["U0EXPERT", "U0FIN", "U0DE"]  # suggested billing routes U0FIN
        again = escalation.escalate(session, permit, ItemRef(item_id, 1), "again")
        assert again.refused == "This item is already escalated."
        event = session.scalars(select(ItemEvent).where(ItemEvent.action == "escalated")).one()
        assert event.detail["counts"] == {"bug": 1} and event.actor == "U2"


def test_a_permit_for_another_action_is_a_programming_error(factory, project):
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session, pytest.raises(PermissionError):
        escalation.escalate(session, allow(project, "U2"), ItemRef(item_id, 1), "why")


def test_the_first_decision_wins_and_resolves_the_item(factory, project):
    (item_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, item_id)
    with session_scope(factory) as session:
        first = escalation.decide(session, decider(project, esc_id), esc_id, "bug", note="crash")
        assert first.outcome == DecisionOutcome.WON
    with session_scope(factory) as session:
        second = escalation.decide(session, decider(project, esc_id, "U0FIN"), esc_id, "billing")
        assert second.outcome == DecisionOutcome.LOST
        assert (second.escalation.decided_by, second.escalation.decided_label) == ("U0EXPERT", "bug")
        item = session.get(Item, item_id)
        assert (item.status, item.resolution, item.final_label) == ("resolved", "expert", "bug")
        decided = session.scalars(select(ItemEvent).where(ItemEvent.action == "decided")).one()
        assert decided.detail["note"] == "crash" and decided.detail["hours_to_decision"] >= 0


def test_a_decision_on_another_escalation_needs_its_own_permit(factory, project):
    (item_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, item_id)
    with session_scope(factory) as session, pytest.raises(PermissionError):
        escalation.decide(session, decider(project, esc_id + 1), esc_id, "bug")


def test_send_back_queues_a_new_round_and_keeps_the_votes_in_the_history(factory, project):
    (item_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, item_id)
    with session_scope(factory) as session:
        result = escalation.send_back(session, decider(project, esc_id), esc_id, "read the guidelines")
        assert result.won and result.old_message_ts and result.old_card is not None
        assert result.old_card.sent_back and result.old_card.round == 1
        item = session.get(Item, item_id)
        assert (item.status, item.round, item.message_ts) == (ItemStatus.QUEUED, 2, None)
        assert session.scalars(select(Label).where(Label.item_id == item_id)).all() == []
        event = session.scalars(select(ItemEvent).where(ItemEvent.action == "sent_back")).one()
        assert event.detail["votes"] == {"U1": "billing", "U2": "bug", "U3": "other"}
    with session_scope(factory) as session:
        late = escalation.decide(session, decider(project, esc_id, "U0FIN"), esc_id, "bug")
        assert late.outcome == DecisionOutcome.LOST and late.escalation.status == "sent_back"


def test_threads_to_post_carry_the_votes_and_unposted_items_come_first(factory, project):
    (posted_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, posted_id)
    with session_scope(factory) as session:
        pid = session.get(Item, posted_id).project_id
        threads, unposted = escalation.pending_threads(session, project, pid)
        assert unposted == [] and [t.escalation_id for t in threads] == [esc_id]
        assert (
            threads[0].counts == {"billing": 1, "bug": 1, "other": 1} and threads[0].reason == "disagreement"
        )
        escalation.thread_posted(session, esc_id, "1.5")
        assert escalation.pending_threads(session, project, pid) == ([], [])
        session.get(Item, posted_id).message_ts = None  # as if escalated from imported labels
        session.get(Escalation, esc_id).thread_ts = None
        threads, unposted = escalation.pending_threads(session, project, pid)
        assert threads == [] and [u.item_id for u in unposted] == [posted_id]


def test_a_reminder_and_a_fallback_are_each_claimed_once(factory, project):
    (item_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, item_id)
    with session_scope(factory) as session:
        escalation.thread_posted(session, esc_id, "1.5")
        pid = session.get(Item, item_id).project_id
        created = session.get(Escalation, esc_id).created_at
    later = created + timedelta(hours=25)
    with session_scope(factory) as session:
        assert [(e.id, k) for e, k in escalation.due_reminders(session, project, pid, later)] == [
            (esc_id, "remind")
        ]
        claim = escalation.claim_reminder(session, project, esc_id, "remind", later)
        assert claim is not None and claim.experts == ["U0EXPERT", "U0FIN"] and claim.parent_ts
        assert escalation.claim_reminder(session, project, esc_id, "remind", later) is None
        assert escalation.due_reminders(session, project, pid, later) == []
    much_later = created + timedelta(hours=73)
    with session_scope(factory) as session:
        assert [k for _, k in escalation.due_reminders(session, project, pid, much_later)] == ["fallback"]
        assert escalation.claim_reminder(session, project, esc_id, "fallback", much_later) is not None
        assert escalation.due_reminders(session, project, pid, much_later + timedelta(days=9)) == []


def test_no_reminder_before_the_thread_exists(factory, project):
    (item_id,) = add_items(factory, 1)
    disagree(factory, project, item_id)
    with session_scope(factory) as session:
        pid = session.get(Item, item_id).project_id
        assert escalation.due_reminders(session, project, pid, datetime.now(UTC) + timedelta(days=5)) == []
