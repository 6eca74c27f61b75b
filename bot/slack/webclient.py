"""The Web API clients: counted calls, and how long a rate-limited call may wait.

A listener calls Slack at two moments. Before the ack (a user-group lookup for a permission,
opening a direct message), the 3 s deadline is running: a 429 is retried once, and only when
Slack asks to wait at most ``BEFORE_ACK_WAIT`` (1 s); otherwise it fails at once. After the ack
(lazy listeners: ``views.open``, ``chat.update`` of decided threads, ``views.publish``), nothing
is waiting for the call, so slack_sdk's ``RateLimitErrorRetryHandler`` waits as long as
``Retry-After`` says. Background posters manage retries themselves (``bot.slack.calls``) and get
no rate-limit handler. Every client counts its calls (``bot.slack.metrics``).
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot.slack.metrics import METRICS

__all__ = [
    "BEFORE_ACK_WAIT",
    "CountingWebClient",
    "QuickRateLimitRetry",
    "after_ack_handlers",
    "before_ack_handlers",
]

BEFORE_ACK_WAIT = 1.0  # seconds a call before the ack may wait for a rate limit
AFTER_ACK_RETRIES = 2


class CountingWebClient(WebClient):
    """slack_sdk's client, counting each call by method, and each failure by its error."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            METRICS.slack_call(api_method, str(data.get("error") or f"http_{exc.response.status_code}"))
            raise
        except OSError as exc:
            METRICS.slack_call(api_method, type(exc).__name__)
            raise
        METRICS.slack_call(api_method)
        return response


def _retry_after(response: HttpResponse) -> float | None:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0])
            except ValueError:
                return None
    return None


class QuickRateLimitRetry(RetryHandler):
    """A 429 retried once, when ``Retry-After`` is at most ``max_wait`` seconds (no jitter on top)."""

    def __init__(self, max_wait: float = BEFORE_ACK_WAIT) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response)
        return wait is not None and 0 <= wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        time.sleep(min(self.max_wait, (_retry_after(response) if response else None) or 0.0))
        state.increment_current_attempt()


def before_ack_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(), QuickRateLimitRetry()]


def after_ack_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=AFTER_ACK_RETRIES)]
