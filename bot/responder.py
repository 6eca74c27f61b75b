"""Answers to a click's ``response_url`` over pooled keep-alive connections.

Bolt's ``respond`` posts through slack_sdk's WebhookClient, which opens a new HTTPS
connection for every answer (urllib). Every label click is answered, so on the click
path that connection set-up cost more CPU than recording the label; here urllib3 keeps
the connections to Slack open between answers.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import urllib3

__all__ = ["Responder"]

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, *, timeout: float = 10.0, pool_size: int = 8) -> None:
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            block=False,
            timeout=urllib3.Timeout(connect=5.0, read=timeout),
            # Only failures before the request reached Slack are retried: a response_url
            # answer is not idempotent (an ephemeral would show twice).
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0),
        )

    def respond(
        self,
        response_url: str | None,
        message: dict[str, Any],
        *,
        response_type: str | None = None,
        replace_original: bool | None = None,
    ) -> bool:
        """Post ``message`` (text/blocks) to ``response_url``; False (and a log line) on failure.

        The URL's path is a secret: it is never logged.
        """
        if not response_url or urlsplit(response_url).scheme not in ("https", "http"):
            log.warning("a click arrived without a usable response_url; its answer was dropped")
            return False
        body = dict(message)
        if response_type is not None:
            body["response_type"] = response_type
        if replace_original is not None:
            body["replace_original"] = replace_original
        host = urlsplit(response_url).netloc
        try:
            response = self._pool.request(
                "POST",
                response_url,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except urllib3.exceptions.HTTPError as exc:
            log.warning("answering through response_url at %s failed: %s", host, type(exc).__name__)
            return False
        if response.status != 200:
            log.warning("response_url at %s answered HTTP %s: %s", host, response.status, response.data[:200])
            return False
        return True

    def close(self) -> None:
        self._pool.clear()
