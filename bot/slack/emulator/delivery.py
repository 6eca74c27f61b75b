"""Slack's side of delivery: interactive payloads, slash commands and Events API events go
to the app's Request URL as signed HTTP POSTs (``deliver_to_http``) or over its Socket Mode
connection, and the app has 3 seconds to acknowledge.  Strict as Slack is: every HTTP
request carries a v0 signature, an ack that does not come within the deadline is recorded
as a ``timeout`` (and a non-2xx answer as an error), retries are explicit (``redeliver``
resends the same body with ``X-Slack-Retry-Num`` / ``retry_attempt``), the url_verification
challenge must be echoed, and with no Request URL and no Socket Mode connection there is
nowhere to deliver (``NoAppConnected``).
"""

from __future__ import annotations

import concurrent.futures
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx

from . import payloads
from .core import Delivery, EmulatorBase, NoAppConnected
from .signing import signed_headers


class Deliveries(EmulatorBase):
    """Slack -> app transport: signed HTTP or Socket Mode, acks, retries."""

    # ------------------------------------------------------------------ configuration

    def deliver_to_http(self, url: str | None) -> None:
        """Deliver payloads to the app's Request URL (signed HTTP) instead of Socket Mode; None to unset."""
        self._app_url = url

    # ------------------------------------------------------------------ deliveries (Slack -> app)

    def deliver_event(self, event: dict[str, Any]) -> Delivery:
        """Deliver an arbitrary Events API event (wrapped in a fresh event_callback envelope)."""
        return self._deliver_event(event)

    def verify_url(self) -> Delivery:
        """Send the ``url_verification`` challenge Slack sends when a Request URL is saved."""
        challenge = secrets.token_urlsafe(24)
        d = self._deliver("url_verification", payloads.url_verification(self.ctx, challenge))
        body = d.body.get("challenge") if isinstance(d.body, dict) else d.body
        if body != challenge:
            d.error = "challenge_failed"
        return d

    def redeliver(self, target: Delivery | str, reason: str = "http_timeout") -> Delivery:
        """Resend a delivery (or the one of an ``event_id``) as Slack's retry: same body, retry_attempt+1."""
        with self._lock:
            if isinstance(target, str):
                matches = [d for d in self.deliveries if d.event_id == target]
                if not matches:
                    raise LookupError(f"no delivery with event_id {target}")
                target = matches[-1]
        return self._deliver(
            target.kind,
            target.payload,
            retry_attempt=target.retry_attempt + 1,
            retry_reason=reason,
            event_id=target.event_id,
            accepts_response_payload=target.accepts_response_payload,
        )

    def raw_post(
        self,
        path_or_url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST hand-made bytes (e.g. a badly signed payload); relative paths go to the app's Request URL."""
        if path_or_url.startswith("http://") or path_or_url.startswith("https://"):
            url = path_or_url
        elif self._app_url:
            parsed = urlparse(self._app_url)
            url = f"{parsed.scheme}://{parsed.netloc}/{path_or_url.lstrip('/')}"
        else:
            url = self.base_url + path_or_url.lstrip("/")
        return self._http.post(url, content=body, headers=headers or {}, timeout=timeout or self.ack_timeout)

    # ------------------------------------------------------------------ internals: delivery

    def _app_reachable(self) -> bool:
        return bool(self._app_url) or self._active_socket() is not None

    def _deliver_event(self, event: dict[str, Any], *, event_id: str | None = None) -> Delivery:
        eid = event_id or self._new_id("Ev0", 9)
        payload = payloads.event_callback(self.ctx, event, event_id=eid, event_time=int(time.time()))
        return self._deliver("events_api", payload, event_id=eid)

    def _deliver_async(self, event: dict[str, Any]) -> concurrent.futures.Future[Delivery] | None:
        """Deliver from a background thread (used while serving a Web API call, so no deadlock)."""
        if not self._app_reachable():
            return None
        return self._executor.submit(self._deliver_event, event)

    def _deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        event_id: str | None = None,
        accepts_response_payload: bool = False,
    ) -> Delivery:
        if kind == "events_api" and event_id is None:
            event_id = payload.get("event_id")
        if kind == "slash_commands":
            accepts_response_payload = True
        if self._app_url:
            d = self._deliver_http(kind, payload, retry_attempt=retry_attempt, retry_reason=retry_reason)
        else:
            deadline = time.monotonic() + self.connect_timeout
            conn = self._active_socket()
            while conn is None and time.monotonic() < deadline:
                time.sleep(0.02)
                conn = self._active_socket()
            if conn is None:
                raise NoAppConnected("no Request URL set (deliver_to_http) and no Socket Mode connection")
            d = self._deliver_socket(
                conn,
                kind,
                payload,
                retry_attempt=retry_attempt,
                retry_reason=retry_reason,
                accepts_response_payload=accepts_response_payload,
            )
        d.event_id = event_id
        d.accepts_response_payload = accepts_response_payload
        with self._lock:
            self.deliveries.append(d)
        return d

    def _deliver_http(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int, retry_reason: str
    ) -> Delivery:
        assert self._app_url is not None
        if kind == "interactive":
            body = urlencode({"payload": payloads.dumps(payload)}).encode()
            ctype = "application/x-www-form-urlencoded"
        elif kind == "slash_commands":
            body = urlencode(payload).encode()
            ctype = "application/x-www-form-urlencoded"
        else:
            body = payloads.dumps(payload).encode()
            ctype = "application/json"
        headers = {
            "Content-Type": ctype,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "application/json,*/*",
            "Accept-Encoding": "gzip,deflate",
            **signed_headers(self.signing_secret, body),
        }
        if retry_attempt:
            headers["X-Slack-Retry-Num"] = str(retry_attempt)
            headers["X-Slack-Retry-Reason"] = retry_reason
        d = Delivery(
            kind=kind,
            payload=payload,
            transport="http",
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        start = time.monotonic()
        try:
            resp = self._http.post(self._app_url, content=body, headers=headers, timeout=self.ack_timeout)
        except httpx.TimeoutException:
            d.status, d.error = "timeout", "http_timeout"
        except httpx.HTTPError as exc:
            d.status, d.error = "error", f"connection_failed: {exc}"
        else:
            d.status = resp.status_code
            d.headers = dict(resp.headers)
            text = resp.text
            try:
                d.body = resp.json() if text.strip() else None
            except ValueError:
                d.body = text
            if not d.acked:
                d.error = "http_error"
        d.elapsed = time.monotonic() - start
        return d
