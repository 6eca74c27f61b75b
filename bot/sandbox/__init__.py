"""``labelbot sandbox``: the real bot against the Slack emulator, with a local page that shows it.

No tokens and no workspace: ``bot.slack.emulator`` plays Slack, the bot serves in HTTP mode with
``bot.serve``'s own start-up on a throwaway SQLite database, a sample project is imported, two
simulated annotators answer items, and ``bot.sandbox.web`` shows the workspace as one of a few
sample users sees it. Every click or submission on the page goes to the bot as the emulator's
signed Slack payload; nothing in the bot knows it is in a sandbox.
"""

from bot.sandbox.runner import Sandbox, SandboxError
from bot.sandbox.workspace import CHANNEL, USERS, SampleUser

__all__ = ["CHANNEL", "USERS", "SampleUser", "Sandbox", "SandboxError"]
