"""Blind audit answers: one button per label, sent to an expert by DM or in the audit channel.

The answer is recorded before the ack; after it, the audit message is replaced by the result
(the expert sees the consensus only now), or the expert is told why not.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.audits import AuditOutcome, answer_audit
from bot.authorization import Refusal
from bot.slack import ids
from bot.slack.blocks.audit import audit_done
from bot.slack.listeners.routes import Reply, Route, Update, runtime
from bot.slack.payload import action_number

__all__ = ["ROUTES"]


def audit_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    rt, audit_id = runtime(context), action_number(action)
    label = str(action.get("action_id", "")).removeprefix(ids.AUDIT_PREFIX)
    permit = rt.permit_audit(audit_id, context.user_id or "") if audit_id is not None else None
    if audit_id is None:
        reply = Reply(ephemeral="That button is not one of labelbot's.")
    elif permit is None:
        reply = Reply(ephemeral="This audit no longer exists.")
    elif isinstance(permit, Refusal):
        reply = Reply(ephemeral=permit.reason)
    else:
        with rt.write() as session:
            answer = answer_audit(session, permit, audit_id, label)
            audit = answer.audit
            audited, agrees = (audit.audited_label, bool(audit.agrees)) if audit else ("", False)
        if answer.outcome == AuditOutcome.ALREADY:
            reply = Reply(ephemeral="This audit was already answered.")
        elif answer.outcome == AuditOutcome.REFUSED:
            reply = Reply(ephemeral=answer.reason)
        else:
            container = body.get("container") or {}
            where = str(container.get("channel_id", "")), str(container.get("message_ts", ""))
            reply = Reply(updates=(Update(*where, audit_done(permit.project, label, audited, agrees)),))
    context["reply"] = reply
    ack()


def send_result(client: WebClient, respond: Respond, context: BoltContext) -> None:
    reply: Reply | None = context.get("reply")  # none when the ack refused (nothing to send)
    if reply is not None:
        reply.send(client, respond)


ROUTES = [Route("action", ids.AUDIT_LABEL, audit_click, (send_result,), decides="audits.answer_audit")]
