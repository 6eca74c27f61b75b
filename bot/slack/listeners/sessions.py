"""Personal queues in direct messages: Start labeling, the session's buttons, Stop.

``start_labeling`` is shared by the App Home button and ``/label next``.
"""

from __future__ import annotations

from bot.slack.runtime import Runtime

__all__ = ["ROUTES", "start_labeling"]


def start_labeling(rt: Runtime, user: str, project_key: str | None) -> str:
    """Open (or resume) ``user``'s labeling session by direct message, in ``project_key`` (None: the
    first project they may label that has work). Returns what to tell them (mrkdwn, escaped)."""
    raise NotImplementedError("being built: personal queues")


ROUTES: list[object] = []
