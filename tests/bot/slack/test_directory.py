"""User-group membership from Slack: cached lookups, and whether a check can skip Slack."""

from slack_sdk.errors import SlackApiError

from bot.authorization import Authorizer
from bot.slack.directory import Directory


class Groups:
    """A Slack client with only ``usergroups.users.list``, counting calls."""

    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members, self.calls = members, 0

    def usergroups_users_list(self, usergroup: str) -> dict:
        self.calls += 1
        if usergroup not in self.members:
            raise SlackApiError("no_such_subteam", {"ok": False, "error": "no_such_subteam"})
        return {"ok": True, "users": self.members[usergroup]}


def test_members_are_cached_and_a_failed_lookup_denies():
    now = [1000.0]
    client = Groups({"S0ANN": ["U0A"]})
    directory = Directory(client, ttl=300, clock=lambda: now[0])  # type: ignore[arg-type]
    authorizer = Authorizer(directory)
    assert authorizer.answers_from_cache([]) and authorizer.answers_from_cache(["U0A", "U0B"])  # users only
    assert not authorizer.answers_from_cache(["U0B", "S0ANN"])
    assert authorizer.includes(["S0ANN"], "U0A") and client.calls == 1
    assert authorizer.answers_from_cache(["U0B", "S0ANN"]) and directory.cached("S0ANN")
    assert authorizer.includes(["S0ANN"], "U0A") and client.calls == 1  # from the cache
    now[0] += 300
    assert not directory.cached("S0ANN")
    assert not authorizer.includes(["S0MISSING"], "U0A")  # fails closed
    assert directory.members("S0MISSING") is None and not directory.cached("S0MISSING") and client.calls == 3
