"""Local Slack emulator for labelbot's tests: Web API, Socket Mode and Slack-side deliveries."""

from .blockkit import normalize_blocks, validate_blocks, validate_view
from .payloads import AppContext
from .server import ApiCall, Delivery, NoAppConnected, SlackEmulator
from .signing import sign, signed_headers

__all__ = [
    "ApiCall",
    "AppContext",
    "Delivery",
    "NoAppConnected",
    "SlackEmulator",
    "normalize_blocks",
    "sign",
    "signed_headers",
    "validate_blocks",
    "validate_view",
]
