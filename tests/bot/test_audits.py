"""Blind audits without Slack: an answer agrees or corrects the final label, once."""

from __future__ import annotations

from sqlalchemy import select

from bot.audits import AuditOutcome, answer_audit, audit_posted, pending_audits
from bot.authorization import Action
from storage.db import session_scope
from storage.models import Audit, Item, ItemEvent
from tests.bot.conftest import add_items, allow


def resolved_with_audit(factory, label="billing"):
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session:
        item = session.get(Item, item_id)
        item.status, item.resolution, item.final_label = "resolved", "consensus", label
        audit = Audit(
            item_id=item_id, resolution="consensus", audited_label=label, expert="U0EXPERT", status="pending"
        )
        session.add(audit)
        session.flush()
        return item_id, audit.id, item.project_id


def test_a_disagreeing_audit_corrects_the_final_label_and_the_history_keeps_both(factory, project):
    item_id, audit_id, _ = resolved_with_audit(factory)
    permit = allow(project, "U0EXPERT", Action.AUDIT, audit_id)
    with session_scope(factory) as session:
        assert answer_audit(session, permit, audit_id, "bug").outcome == AuditOutcome.RECORDED
        item = session.get(Item, item_id)
        assert (item.final_label, item.resolution) == ("bug", "audit")
        actions = session.scalars(select(ItemEvent.action).where(ItemEvent.item_id == item_id)).all()
        assert actions[-2:] == ["audited", "corrected"]
        assert answer_audit(session, permit, audit_id, "other").outcome == AuditOutcome.ALREADY


def test_an_agreeing_audit_changes_nothing_and_a_bad_label_is_refused(factory, project):
    item_id, audit_id, _ = resolved_with_audit(factory)
    permit = allow(project, "U0EXPERT", Action.AUDIT, audit_id)
    with session_scope(factory) as session:
        refused = answer_audit(session, permit, audit_id, "nope")
        assert refused.outcome == AuditOutcome.REFUSED and "not one of" in refused.reason
        assert answer_audit(session, permit, audit_id, "billing").audit.agrees is True
        assert session.get(Item, item_id).final_label == "billing"


def test_pending_audits_wait_until_posted(factory):
    _, audit_id, pid = resolved_with_audit(factory)
    with session_scope(factory) as session:
        assert [a.audit_id for a in pending_audits(session, pid)] == [audit_id]
        audit_posted(session, audit_id, "D123", "3.3")
        assert pending_audits(session, pid) == []
