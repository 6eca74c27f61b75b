"""An item's original text, revealed to an admin (pure builder): ``/label reveal``.

The text is shown as stored (escaped, verbatim: nothing in it pings, links or unfurls), so it is
only ever sent as an ephemeral answer to the admin who asked. The fallback ``text`` never holds
it: it is what notifications and screen readers' previews show.
"""

from __future__ import annotations

from typing import Any

from bot.slack.blocks.modals import SECTION, chunks
from bot.slack.blocks.text import escape, escaped_within, plain

__all__ = ["REVEAL_SECTIONS", "reveal_message"]

#: Sections of text at most; a message has up to 50 blocks, and a reveal is read, not scrolled
#: through: a longer text is cut, with the export command that has it whole.
REVEAL_SECTIONS = 10


def reveal_message(project_key: str, project_name: str, external_id: str, text: str) -> dict[str, Any]:
    """The ephemeral answer: a header line, the text in sections, and a note when it was cut."""
    body, cut = escaped_within(text, SECTION * REVEAL_SECTIONS - REVEAL_SECTIONS)
    item, name = escape(plain(external_id, 200)), escape(plain(project_name, 150))
    head = (
        f":closed_lock_with_key: Original text of item `{item}` in *{name}*, as stored. "
        "Only you see this; the reveal is recorded in the project's admin history."
    )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}}
        for part in chunks(body or "(empty)")
    ]
    if cut:
        key = escape(plain(project_key, 64))
        note = (
            f"_Cut: the text has {len(text):,} characters, more than a Slack message shows. The whole "
            f"text is in the export: `labelbot export {key} -o items.csv`._"
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {"text": f"Original text of item {item}", "blocks": blocks}
