"""User-group membership: cached lookups, and whether a check can skip Slack."""

from slack_sdk.errors import SlackApiError

from bot.access import Directory


class Groups:
    """A Slack client with only ``usergroups.users.list``, counting calls."""

    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members, self.calls = members, 0

    def usergroups_users_list(self, usergroup: str) -> dict:
        self.calls += 1
        if usergroup not in self.members:
            raise SlackApiError("no_such_subteam", {"ok": False, "error": "no_such_subteam"})
        return {"ok": True, "users": self.members[usergroup]}


def test_fresh_says_when_a_check_needs_no_slack_call():
    now = [1000.0]
    client = Groups({"S0ANN": ["U0A"]})
    directory = Directory(client, ttl=300, clock=lambda: now[0])  # type: ignore[arg-type]
    assert directory.fresh([]) and directory.fresh(["U0A", "U0B"])  # users only: nothing to look up
    assert not directory.fresh(["U0B", "S0ANN"])
    assert directory.includes(["S0ANN"], "U0A") and client.calls == 1
    assert directory.fresh(["U0B", "S0ANN"])
    assert directory.includes(["S0ANN"], "U0A") and client.calls == 1  # from the cache
    now[0] += 300
    assert not directory.fresh(["S0ANN"])
    assert not directory.includes(["S0MISSING"], "U0A")  # fails closed
    assert not directory.fresh(["S0MISSING"]) and client.calls == 2
