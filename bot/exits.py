"""The exit codes of every ``labelbot`` command (the README's table): the same meaning everywhere,
so that scripts and CI can tell a bad file from an unreachable Slack."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1  # `check` (or a command's own check) found problems
    BAD_INPUT = 2  # bad input, configuration, settings or usage (click's own usage errors are 2 too)
    UNREACHABLE = 3  # Slack or the database cannot be reached (network, DNS, timeout, 5xx)
    REFUSED = 4  # Slack refused the token (invalid_auth, account_inactive, wrong type) or a scope is missing
