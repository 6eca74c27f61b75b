"""Items from Slack messages without Slack: who may send where, private sources, one item per
message, what is stored, and refusals that write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import importer, message_items
from bot.authorization import Action, Authorizer
from bot.message_items import Refused, Sent, SlackMessage, SourceKind
from storage.db import session_scope
from storage.models import Item, ItemEvent, ItemStatus
from tests.bot.conftest import allow, make_config


def message(**overrides):
    values = {
        "channel": "C0GENERAL",
        "ts": "1700000000.000100",
        "text": "Refund &lt;now&gt; &amp; <@U0BOSS> <!channel>",
        "kind": SourceKind.CHANNEL,
        "author": "U0AUTHOR",
    }
    values.update(overrides)
    return SlackMessage(**values)


def send(factory, project, msg, user="U0ANN1", **kwargs):
    with session_scope(factory) as session:
        return message_items.send_to_labeling(session, allow(project, user, Action.SUBMIT), msg, **kwargs)


def items(factory):
    with session_scope(factory) as session:
        return session.scalars(select(Item).order_by(Item.id)).all()


def test_a_message_becomes_a_queued_item_with_where_it_came_from(factory, project):
    msg = message(permalink="https://x.slack.com/archives/C0GENERAL/p1700000000000100")
    sent = send(factory, project, msg, note="From the forum", suggested="billing")
    assert sent == Sent(sent.item_id, "slack:C0GENERAL:1700000000.000100", created=True, status="queued")
    (item,) = items(factory)
    assert item.status == ItemStatus.QUEUED and item.external_id == sent.external_id
    # Slack's escaping undone; mentions kept as markup (escaped like any item text when posted)
    assert item.text == "Refund <now> & <@U0BOSS> <!channel>"
    assert item.meta == {
        "source": "slack",
        "slack_channel": "C0GENERAL",
        "slack_ts": "1700000000.000100",
        "author": "U0AUTHOR",
        "submitted_by": "U0ANN1",
        "permalink": msg.permalink,
        "note": "From the forum",
        "suggested_label": "billing",
    }
    with session_scope(factory) as session:
        events = session.execute(
            select(ItemEvent.actor, ItemEvent.action, ItemEvent.detail).where(ItemEvent.item_id == item.id)
        ).all()
    assert [(a, act) for a, act, _ in events] == [("labelbot", "queued"), ("U0ANN1", "submitted")]
    assert events[1].detail["suggested_label"] == "billing"


def test_the_same_message_twice_is_one_item_and_changes_nothing(factory, project):
    first = send(factory, project, message(), note="first")
    again = send(factory, project, message(text="edited since"), user="U0ANN2", note="second")
    assert again == Sent(first.item_id, first.external_id, created=False, status="queued")
    (item,) = items(factory)
    assert item.meta["note"] == "first" and item.meta["submitted_by"] == "U0ANN1"
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(ItemEvent)) == 2
    # the status said is the item's own
    with session_scope(factory) as session:
        session.get(Item, first.item_id).status = ItemStatus.RESOLVED
    assert send(factory, project, message()).status == "resolved"


def test_another_project_gets_its_own_item_of_the_same_message(factory):
    config = make_config()
    other = config.projects[0].model_copy(update={"key": "other", "channel": "C0OTHER"})
    send(factory, config.projects[0], message())
    assert send(factory, other, message()).created
    assert len(items(factory)) == 2


@pytest.mark.parametrize("kind", [SourceKind.PRIVATE, SourceKind.IM, SourceKind.MPIM, SourceKind.UNKNOWN])
def test_private_sources_are_refused_unless_the_project_allows_them(factory, project, kind):
    refused = send(factory, project, message(kind=kind))
    assert isinstance(refused, Refused) and refused.field == "project"
    assert kind.described in refused.reason and "allow_private_sources" in refused.reason
    assert items(factory) == []
    allowing = make_config(allow_private_sources=True).projects[0]
    assert send(factory, allowing, message(kind=kind)).created


def test_a_suggested_label_must_be_the_projects(factory, project):
    refused = send(factory, project, message(), suggested="refund")
    assert refused == Refused("suggested", "'refund' is not one of Support's labels (Billing, Bug, Other).")
    assert items(factory) == []


def test_a_long_note_is_refused(factory, project):
    refused = send(factory, project, message(), note="x" * (message_items.NOTE_MAX + 1))
    assert isinstance(refused, Refused) and refused.field == "note" and items(factory) == []


def test_files_and_attachments_are_noted_not_copied(factory, project):
    names = tuple(f"scan-{i}.png" for i in range(25))
    send(factory, project, message(text="", files=names, attachments=1))
    (item,) = items(factory)
    assert item.text == "(no text; 25 files, 1 attachment)"
    assert item.meta["files"] == list(names[: message_items.FILE_NAMES_KEPT])
    assert (item.meta["file_count"], item.meta["attachments"]) == (25, 1)


def test_a_message_with_nothing_in_it_is_refused(factory, project):
    refused = send(factory, project, message(text="  "))
    assert isinstance(refused, Refused) and "nothing to label" in refused.reason and items(factory) == []


def test_control_characters_are_removed_as_the_importer_would_refuse_them(factory, project):
    send(factory, project, message(text="a\x00b\x07c\td\ne", files=("x\x1by.png",)), note="n\x01o")
    (item,) = items(factory)
    assert item.text == "abc\td\ne" and item.meta["files"] == ["xy.png"] and item.meta["note"] == "no"
    # the same rule as the importer's
    assert message_items.CONTROL_CHARACTER.pattern == importer.CONTROL_CHARACTER.pattern


def test_a_permit_for_another_action_is_a_programming_error(factory, project):
    with pytest.raises(PermissionError), session_scope(factory) as session:
        message_items.send_to_labeling(session, allow(project, "U0ANN1", Action.LABEL), message())


def test_submittable_lists_the_projects_the_user_may_send_to():
    support = make_config(annotators=["U0ANN1"]).projects[0]
    open_ = make_config(key="open", channel="C0OPEN").projects[0]  # no annotators: everyone
    listed = make_config(key="listed", channel="C0LIST", submitters=["U0OUT"]).projects[0]
    authorizer = Authorizer()
    projects = [support, open_, listed]
    assert [p.project.key for p in message_items.submittable(authorizer, projects, "U0ANN1")] == [
        "support",
        "open",
    ]
    assert [p.project.key for p in message_items.submittable(authorizer, projects, "U0OUT")] == [
        "open",
        "listed",
    ]
    assert [p.project.key for p in message_items.submittable(authorizer, projects, "U0ADMIN")] == [
        "support",
        "open",
    ]
