"""Text for Slack: escaping user data, cutting to Block Kit limits, Markdown to mrkdwn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["escape", "escaped_within", "markdown_to_mrkdwn", "plain", "truncate"]

ELLIPSIS = "…"


def escape(text: str) -> str:
    """Slack's three control characters, so ``<!channel>`` or ``<@U1>`` show literally.

    Slack only asks for ``&``, ``<`` and ``>`` to be escaped; everything else is
    kept, and ``verbatim: true`` on the text object stops bare URLs and channel
    names from being linked.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def escaped_within(text: str, limit: int) -> tuple[str, bool]:
    """Escape, then fit into ``limit`` characters without splitting an entity like ``&amp;``.

    Returns the text and whether it was cut.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped, False
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS, True


def plain(text: str, limit: int) -> str:
    """For plain_text objects (button and option texts): no escaping, never empty."""
    text = " ".join(text.split()) or "-"
    return truncate(text, limit)


_md = MarkdownIt("commonmark").enable("strikethrough").enable("table")


def markdown_to_mrkdwn(markdown: str) -> str:
    """Convert guideline Markdown to Slack mrkdwn (headings bold, lists with bullets, links <u|t>).

    Raw HTML is shown as text: guidelines are written by the project owner, but
    whatever reaches Slack is escaped all the same.
    """
    renderer = _Blocks()
    for token in _md.parse(markdown):
        handle = _Blocks.HANDLERS.get(token.type)
        if handle is not None:
            handle(renderer, token)
    return "".join(renderer.out).strip()


class _Blocks:
    """Block-level Markdown tokens to mrkdwn, one handler per token type."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is_ordered, next number]
        self.prefix = ""  # a list item's bullet or number, put before its first text
        self.in_heading = False

    def heading_open(self, token: Token) -> None:
        self.in_heading = True

    def heading_close(self, token: Token) -> None:
        self.in_heading = False
        self.out.append("\n\n")

    def paragraph_close(self, token: Token) -> None:
        self.out.append("\n" if self.lists else "\n\n")

    def list_open(self, token: Token) -> None:
        ordered = token.type == "ordered_list_open"
        self.lists.append([ordered, int(token.attrGet("start") or 1) if ordered else 0])

    def list_close(self, token: Token) -> None:
        self.lists.pop()
        if not self.lists:
            self.out.append("\n")

    def list_item_open(self, token: Token) -> None:
        indent = "    " * (len(self.lists) - 1)
        ordered, number = self.lists[-1]
        self.prefix = f"{indent}{number}. " if ordered else f"{indent}• "
        if ordered:
            self.lists[-1][1] += 1

    def inline(self, token: Token) -> None:
        text = _inline(token.children or [])
        self.out.append(self.prefix + (f"*{text}*" if self.in_heading else text))
        self.prefix = ""

    def code(self, token: Token) -> None:
        self.out.append("```\n" + escape(token.content.rstrip("\n")) + "\n```\n\n")

    def blockquote_open(self, token: Token) -> None:
        self.out.append("> ")

    def hr(self, token: Token) -> None:
        self.out.append("───\n\n")

    def html_block(self, token: Token) -> None:
        self.out.append(escape(token.content))

    HANDLERS: ClassVar[dict[str, Callable[[_Blocks, Token], None]]] = {
        "heading_open": heading_open,
        "heading_close": heading_close,
        "paragraph_close": paragraph_close,
        "bullet_list_open": list_open,
        "ordered_list_open": list_open,
        "bullet_list_close": list_close,
        "ordered_list_close": list_close,
        "list_item_open": list_item_open,
        "inline": inline,
        "fence": code,
        "code_block": code,
        "blockquote_open": blockquote_open,
        "hr": hr,
        "html_block": html_block,
    }


#: Inline tokens that become a fixed mark.
_MARKS = {
    "strong_open": "*",
    "strong_close": "*",
    "em_open": "_",
    "em_close": "_",
    "s_open": "~",
    "s_close": "~",
    "softbreak": " ",
    "hardbreak": "\n",
}
_LINK_START = "\x00"  # where a link's label begins, until its close


def _inline(children: list[Token]) -> str:
    parts: list[str] = []
    hrefs: list[str] = []
    for child in children:
        kind = child.type
        if kind in _MARKS:
            parts.append(_MARKS[kind])
        elif kind in ("text", "html_inline"):
            parts.append(escape(child.content))
        elif kind == "code_inline":
            parts.append("`" + escape(child.content) + "`")
        elif kind == "link_open":
            hrefs.append(str(child.attrGet("href") or ""))
            parts.append(_LINK_START)
        elif kind == "link_close":
            start = len(parts) - 1 - parts[::-1].index(_LINK_START)
            label = "".join(parts[start + 1 :])
            del parts[start:]
            parts.append(_link(hrefs.pop(), label))
        elif kind == "image":
            parts.append(escape(child.content or str(child.attrGet("src") or "")))
    return "".join(parts)


def _link(href: str, label: str) -> str:
    """A link as mrkdwn for web and mail addresses; other schemes show their label only."""
    if not href.startswith(("http://", "https://", "mailto:")):
        return label
    safe = href.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{label}>"


def mention(slack_id: str) -> str:
    """``<@U…>`` for a user, ``<!subteam^S…>`` for a user group."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def mentions(ids: Sequence[str]) -> str:
    return " ".join(mention(i) for i in ids)
