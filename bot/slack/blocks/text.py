"""Text for Slack: escaping user data, cutting to Block Kit limits, Markdown to mrkdwn."""

from __future__ import annotations

from collections.abc import Sequence

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
    out: list[str] = []
    list_stack: list[list[int]] = []  # per list: [is_ordered, counter]
    pending_prefix = ""
    in_heading = False
    for token in _md.parse(markdown):
        kind = token.type
        if kind == "heading_open":
            in_heading = True
        elif kind == "heading_close":
            in_heading = False
            out.append("\n\n")
        elif kind == "paragraph_close":
            out.append("\n" if list_stack else "\n\n")
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 0
            list_stack.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
            if not list_stack:
                out.append("\n")
        elif kind == "list_item_open":
            indent = "    " * (len(list_stack) - 1)
            ordered, counter = list_stack[-1]
            pending_prefix = f"{indent}{counter}. " if ordered else f"{indent}• "
            if ordered:
                list_stack[-1][1] += 1
        elif kind == "inline":
            text = _inline(token.children or [])
            if in_heading:
                text = f"*{text}*"
            out.append(pending_prefix + text)
            pending_prefix = ""
        elif kind in ("fence", "code_block"):
            out.append("```\n" + escape(token.content.rstrip("\n")) + "\n```\n\n")
        elif kind == "blockquote_open":
            out.append("> ")
        elif kind == "hr":
            out.append("───\n\n")
        elif kind == "html_block":
            out.append(escape(token.content))
    return "".join(out).strip()


def _inline(children: list[Token]) -> str:
    parts: list[str] = []
    link_stack: list[str] = []
    for child in children:
        kind = child.type
        if kind == "text":
            parts.append(escape(child.content))
        elif kind == "code_inline":
            parts.append("`" + escape(child.content) + "`")
        elif kind in ("strong_open", "strong_close"):
            parts.append("*")
        elif kind in ("em_open", "em_close"):
            parts.append("_")
        elif kind in ("s_open", "s_close"):
            parts.append("~")
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "link_open":
            link_stack.append(str(child.attrGet("href") or ""))
            parts.append("\x00")
        elif kind == "link_close":
            href = link_stack.pop()
            start = len(parts) - 1 - parts[::-1].index("\x00")
            label = "".join(parts[start + 1 :])
            del parts[start:]
            safe_href = href.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
            if href.startswith(("http://", "https://", "mailto:")):
                parts.append(f"<{safe_href}|{label}>")
            else:
                parts.append(label)
        elif kind == "image":
            parts.append(escape(child.content or str(child.attrGet("src") or "")))
        elif kind == "html_inline":
            parts.append(escape(child.content))
    return "".join(parts)


def mention(slack_id: str) -> str:
    """``<@U…>`` for a user, ``<!subteam^S…>`` for a user group."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def mentions(ids: Sequence[str]) -> str:
    return " ".join(mention(i) for i in ids)
