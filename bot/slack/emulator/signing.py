"""Slack v0 request signing, as Slack applies it to every request it sends an app.

The emulator signs what it delivers so the bot's real signature check runs in tests;
tests that hand-craft bad requests use the same helpers to sign (or mis-sign) bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Return ``v0=<hex HMAC-SHA256>`` of ``v0:{timestamp}:{body}`` keyed by the signing secret."""
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack attaches to a request; ``timestamp`` defaults to now (pass an old one for replays)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def verify(secret: str, timestamp: str, body: bytes | str, signature: str, *, max_age: int = 300) -> bool:
    """Check a signature the way Slack recommends (constant-time compare, 5 minute replay window)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - ts) > max_age:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
