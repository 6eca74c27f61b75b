"""App Home, and ``/label mine`` (pure builders).

A Home view holds at most 100 blocks. Its lists (the projects one labels, the escalations routed
to one, the projects one administers) are cut into pages of :data:`PAGE_SIZE` entries together,
with Previous/Next buttons (``ids.HOME_PAGE``, value = the page): whatever the lists hold, a page
stays far below the limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.home import Home, ProjectHealth, ProjectProgress, RoutedEscalation, WeekFigures
from bot.slack import ids
from bot.slack.blocks.item import button
from bot.slack.blocks.text import escape, escaped_within, mention, plain

__all__ = [
    "MAX_BLOCKS",
    "PAGE_SIZE",
    "home_view",
    "mine_message",
    "page_count",
    "pause_notice",
    "thread_link",
    "week_text",
]

MAX_BLOCKS = 100
PAGE_SIZE = 25  # entries (one block each) per page, whichever list they come from
_ID = re.compile(r"^[A-Z0-9]{1,32}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(text, 150)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _channel(channel: str) -> str:
    return f"<#{channel}>" if _ID.match(channel) else escape(channel)


def _percent(value: float | None, of: int) -> str:
    return "–" if value is None else f"{value:.0%} (of {of})"


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def _when(at: datetime | None) -> str:
    return at.strftime("%a %d %b %Y %H:%M UTC") if at is not None else "never"


def thread_link(channel: str, thread_ts: str | None, parent_ts: str | None) -> str | None:
    """A link to an escalation's post in its thread (Slack's archive URL), or None before it is posted."""
    if not thread_ts or not _TS.match(thread_ts) or not _ID.match(channel):
        return None
    url = f"https://slack.com/archives/{channel}/p{thread_ts.replace('.', '')}"
    if parent_ts and _TS.match(parent_ts):
        url += f"?thread_ts={parent_ts}&cid={channel}"
    return url


def week_text(week: WeekFigures) -> str:
    """One user's figures: labels, agreement with the final label, gold accuracy."""
    return (
        f"*{week.labels}* label(s) · agreement with the final label {_percent(week.agreement, week.resolved)}"
        f" · gold accuracy {_percent(week.gold_accuracy, week.gold)}"
    )


def _project_entry(p: ProjectProgress) -> dict[str, Any]:
    text = (
        f"*{escape(plain(p.name, 150))}* in {_channel(p.channel)}\n"
        f"{p.done} of {p.total} resolved · {p.queued} queued · {p.open} open · {p.escalated} escalated\n"
        f"*{p.waiting}* open item(s) wait for your label · you labeled {p.labeled_by_you}"
    )
    if p.paused:
        return _section(text + "\n:double_vertical_bar: Paused by an admin: no new items for now.")
    return _section(text, button("Start labeling", ids.START_LABELING, p.key, "primary"))


def _escalation_entry(e: RoutedEscalation) -> dict[str, Any]:
    ident = f"`{escape(plain(e.item_external_id, 100))}`"
    link = thread_link(e.channel, e.thread_ts, e.parent_ts)
    where = f"<{link}|open the thread>" if link else "_thread not posted yet_"
    text, _ = escaped_within(" ".join(e.item_text.split()), 200)
    return _section(
        f"*{escape(plain(e.project_name, 150))}* · item {ident} · waiting {_age(e.age)} · {where}\n>{text}"
    )


def _health_entry(h: ProjectHealth) -> dict[str, Any]:
    model = f"v{h.model_version}" if h.model_version is not None else "none"
    if h.paused:
        by = f" by {mention(h.paused_by)}" if h.paused_by and _ID.match(h.paused_by) else ""
        state = f":double_vertical_bar: *Paused*{by} since {_when(h.paused_at)}"
        toggle = button("Resume", ids.RESUME_PROJECT, h.key, "primary")
    else:
        state = ":arrow_forward: Running"
        toggle = button("Pause", ids.PAUSE_PROJECT, h.key, "danger")
    text = (
        f"*{escape(plain(h.name, 150))}* in {_channel(h.channel)} · {state}\n"
        f"Backlog *{h.queued}* queued · {h.open} open · *{h.escalations}* open escalation(s)\n"
        f"Last digest: {_when(h.last_digest)} · model: {model}"
    )
    return _section(text, toggle)


def _entries(home: Home) -> list[tuple[str, dict[str, Any]]]:
    """(list title, block) for every entry of every list, in the order shown."""
    out = [("Projects you label", _project_entry(p)) for p in home.projects]
    out += [("Escalations waiting for you", _escalation_entry(e)) for e in home.escalations]
    out += [("Projects you administer", _health_entry(h)) for h in home.admin]
    return out


def page_count(home: Home) -> int:
    return max(1, -(-len(_entries(home)) // PAGE_SIZE))


def home_view(home: Home, page: int = 1, notice: str | None = None) -> dict[str, Any]:
    """The Home tab of ``home.user``: page ``page`` (clamped) of its lists. ``notice``: mrkdwn, escaped."""
    entries = _entries(home)
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(1, page), pages)
    blocks: list[dict[str, Any]] = [_header("labelbot")]
    if notice:
        blocks.append(_section(notice))
    blocks.append(_section(f"*Your last 7 days*\n{week_text(home.week)}"))
    if not entries:
        blocks.append(
            _context(
                "Nothing here for you: you label no project, no escalation waits for you, "
                "you administer none."
            )
        )
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    title = None
    for list_title, block in shown:
        if list_title != title:
            blocks += [{"type": "divider"}, _header(list_title)]
            title = list_title
        blocks.append(block)
    if pages > 1:
        blocks.append(_context(f"Page {page} of {pages} · {len(entries)} entries"))
        if page > 1:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "home_previous",
                    "elements": [button("← Previous", ids.HOME_PAGE, str(page - 1))],
                }
            )
        if page < pages:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "home_next",
                    "elements": [button("Next →", ids.HOME_PAGE, str(page + 1))],
                }
            )
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def mine_message(weeks: Sequence[WeekFigures], names: dict[str, str]) -> dict[str, Any]:
    """``/label mine``: the total of the last seven days, then per project."""
    total, *per = weeks
    lines = [f"*Your last 7 days*: {week_text(total)}"]
    for w in per:
        name = names.get(w.project or "", w.project or "")
        lines.append(f"• *{escape(plain(name, 150))}*: {week_text(w)}")
    text = "\n".join(lines)
    return {"text": text[:3000], "blocks": [_section(text)]}


def pause_notice(project_name: str, paused: bool, changed: bool, by: str | None, at: datetime | None) -> str:
    """What an admin is told after Pause or Resume (mrkdwn, escaped)."""
    name = f"*{escape(plain(project_name, 150))}*"
    if paused and changed:
        return (
            f":double_vertical_bar: {name} is paused: no new item is posted until an admin resumes it. "
            "Items already out can still be labeled and decided."
        )
    if paused:
        who = f" by {mention(by)}" if by and _ID.match(by) else ""
        return f"{name} was already paused{who} since {_when(at)}."
    if changed:
        return f":arrow_forward: {name} is resumed: new items are posted again."
    return f"{name} is not paused."
