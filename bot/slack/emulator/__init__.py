"""A local Slack: the Web API, Socket Mode and Slack's side of interactivity, in one process.

The test suite runs the real bot against it (and ``labelbot sandbox``, ``bot/sandbox/``, runs
the bot against it for a person to try), so it stands alone: it imports nothing from the rest
of ``bot``.  Start one with ``with SlackEmulator() as emu:`` and give slack_sdk
``emu.api_url`` as its ``base_url``.
"""

from .blockkit import normalize_blocks, validate_blocks, validate_view
from .core import ApiCall, Delivery, NoAppConnected
from .payloads import AppContext
from .server import SlackEmulator
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
