"""Answers to a click's ``response_url`` over pooled keep-alive connections.

Bolt's ``respond`` posts through slack_sdk's WebhookClient, which opens a new HTTPS
connection for every answer (urllib). Every label click is answered, so on the click
path that connection set-up cost more CPU than recording the label; here urllib3 keeps
the connections to Slack open between answers.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3

__all__ = ["Responder"]

CONNECT_ATTEMPTS = 3

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, *, timeout: float = 10.0, pool_size: int = 8) -> None:
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            block=False,
            timeout=urllib3.Timeout(connect=5.0, read=timeout),
            # Retried here, not by urllib3, whose retry warnings print the URL (a secret).
            retries=False,
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
        payload = json.dumps(body).encode()
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                response = self._pool.request(
                    "POST",
                    response_url,
                    body=payload,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                break
            except urllib3.exceptions.NewConnectionError as exc:
                # Nothing reached Slack, so trying again cannot show the answer twice; a failure
                # after sending is not retried (an answer is not idempotent).
                if attempt + 1 == CONNECT_ATTEMPTS:
                    return self._failed(host, exc)
                time.sleep(0.2 * (attempt + 1))
            except urllib3.exceptions.HTTPError as exc:
                return self._failed(host, exc)
        if response.status != 200:
            log.warning("response_url at %s answered HTTP %s: %s", host, response.status, response.data[:200])
            return False
        return True

    @staticmethod
    def _failed(host: str, exc: Exception) -> bool:
        log.warning("answering through response_url at %s failed: %s", host, type(exc).__name__)
        return False

    def close(self) -> None:
        self._pool.clear()
