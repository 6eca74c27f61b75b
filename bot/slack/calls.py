"""Calling the Web API from background work: retries, backoff, and telling failures apart.

A 429 is definite (nothing happened, wait Retry-After); a Slack error such as
``channel_not_found`` is definite and permanent; a 5xx or a network error is
*ambiguous*: Slack may have done the work, so a poster must look before it
retries, or it could post twice. A ``missing_scope`` names the scope the app
lacks (Slack's ``needed``), so that the log says what to add to the manifest.
"""

from __future__ import annotations

import logging
import socket
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

__all__ = ["CallOutcome", "Failure", "classify", "retry_after"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    kind: Literal["ratelimited", "permanent", "ambiguous"]
    error: str
    retry_after: float = 0.0


def retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or "1"
    try:
        return max(1.0, float(value))
    except ValueError:
        return 1.0


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = data.get("error")
        if status == 429 or error == "ratelimited":
            return Failure("ratelimited", "ratelimited", retry_after(exc))
        if status >= 500:
            return Failure("ambiguous", f"HTTP {status}")
        if error == "missing_scope":
            return Failure("permanent", _missing_scope(data))
        return Failure("permanent", str(error or f"HTTP {status}"))
    if isinstance(exc, urllib.error.URLError | ConnectionError | TimeoutError | socket.timeout | OSError):
        return Failure("ambiguous", type(exc).__name__)
    raise exc


def _missing_scope(data: dict[str, Any]) -> str:
    """``missing_scope (needed: im:history; granted: chat:write,...)``: what to add to manifest.yml."""
    return f"missing_scope (needed: {data.get('needed') or '?'}; granted: {data.get('provided') or 'none'})"


CallOutcome = tuple[Any, Failure | None]


def attempt(call: Callable[[], Any]) -> CallOutcome:
    """Run one Web API call; return (response, None) or (None, failure)."""
    try:
        return call(), None
    except (SlackApiError, OSError) as exc:
        failure = classify(exc)
        # a missing scope is the app's configuration, not Slack's weather: say so louder
        level = logging.ERROR if failure.error.startswith("missing_scope") else logging.WARNING
        log.log(level, "Slack call failed (%s): %s", failure.kind, failure.error)
        return None, failure
