"""What the listeners share: configuration, transactions, the authorizer, the Slack client.

Bolt hands the runtime to every listener through its context (``bot.slack.app``), so listeners
are module-level functions that import no database module: they open transactions here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot import audits, escalation
from bot.authorization import Authorizer, Permit, Refusal
from bot.config import Config, ProjectConfig
from bot.group_commit import GroupCommit
from bot.items import ProjectOfItem
from bot.labeling import LabelOutcome, LabelResult, lock_items
from bot.slack.metrics import METRICS
from bot.slack.responder import Responder
from storage.db import describe_error, read_scope, session_scope, unreachable

__all__ = ["Runtime"]

log = logging.getLogger(__name__)
# Groups committed at once on PostgreSQL. A group waits on round trips, so one at a time left the
# process idle while a click took six statements (at 32 clients, 1 group 41 clicks/s, 4 groups
# 100). With two statements a click, more groups only fight over the GIL: on a quiet machine, 1
# group 654 clicks/s, p99 64 ms, 1.03 ms CPU a click; 2 groups 594, 103 ms, 1.24 ms
# (benchmarks/clicks.py --database-url, 32 clients, medians of 3, same run, 2026-12-03).
NETWORK_GROUPS = 1


class Wakeable(Protocol):
    def wake(self) -> None: ...


@dataclass
class Runtime:
    config: Config
    factory: sessionmaker[Session]
    client: WebClient
    authorizer: Authorizer
    dispatcher: Wakeable | None = None  # the poster thread, when this process runs one
    digests: Any = None  # bot.slack.digests.DigestPoster: ``/label stats``
    homes: Any = None  # bot.slack.home.HomeRefresher: App Home views to publish again, per user
    responder: Responder = field(default_factory=Responder)
    projects: ProjectOfItem = field(init=False)
    commits: GroupCommit = field(init=False)  # the clicks' transactions (see bot.group_commit)

    def __post_init__(self) -> None:
        self.projects = ProjectOfItem(self.config)
        # SQLite's groups run on the event loop; PostgreSQL's wait on the network, in threads.
        dialect = getattr(self.factory.kw.get("bind"), "dialect", None)
        sqlite = dialect is None or dialect.name == "sqlite"
        self.commits = GroupCommit(
            self.factory,
            threads=0 if sqlite else NETWORK_GROUPS,
            # PostgreSQL: a group locks its items in one statement first, so that each label
            # click then reads what it needs in one (bot.labeling.lock_items).
            prepare=None if sqlite else lock_items,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Runtime:
        # Bolt deep-copies a request's context for its lazy listeners; they share this runtime.
        return self

    # -- transactions ------------------------------------------------------------------------------
    def write(self) -> AbstractContextManager[Session]:
        """A write transaction (see ``storage.db.session_scope``)."""
        return session_scope(self.factory)

    def read(self) -> AbstractContextManager[Session]:
        """A read-only transaction: never SQLite's write lock."""
        return read_scope(self.factory)

    @staticmethod
    def outage(exc: BaseException) -> str | None:
        """What to log when ``exc`` says the database is unreachable (an outage to tell the user
        about, not a bug); None for any other error."""
        return describe_error(exc) if unreachable(exc) else None

    def click(self) -> AbstractContextManager[Session]:
        """A click's transaction: its group's, when the server commits clicks in groups."""
        return self.commits.session()

    def project_of(self, item_id: int) -> ProjectConfig | None:
        """The configured project of an item; a read only on a cache miss (the click path)."""
        return self.projects.lookup(item_id, self.read)

    # -- authorization: the rows a rule needs, read before the write transaction -----------------
    # A group lookup may wait on Slack: never inside a write transaction (SQLite's lock).
    def permit_decision(self, escalation_id: int, user: str) -> Permit | Refusal | None:
        """May ``user`` decide (or send back) this escalation? None when it no longer exists."""
        with self.read() as session:
            target = escalation.decision_target(session, escalation_id)
            project = self.projects.of(session, target.item_id) if target else None
        if target is None or project is None:
            return None
        return self.authorizer.decide(project, target.escalation_id, target.experts, user)

    def permit_audit(self, audit_id: int, user: str) -> Permit | Refusal | None:
        """May ``user`` answer this audit? None when it no longer exists."""
        with self.read() as session:
            target = audits.audit_target(session, audit_id)
            project = self.projects.of(session, target.item_id) if target else None
        if target is None or project is None:
            return None
        return self.authorizer.audit(project, target.audit_id, target.expert, user)

    # -- after the acknowledgement ---------------------------------------------------------------
    def after_ack(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` after the acknowledgement, off the request's path; failures are logged.

        A click of a group runs it once the group is committed (and never if the group fails).
        Otherwise it runs on the event loop that sends answers (``Responder``): right after the
        ack when the click itself ran on that loop, else handed over from the listener's thread.
        """

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("answering after the ack failed", extra=_ids(args))

        if self.commits.defer(run):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.responder.call_soon(run)
        else:
            loop.call_soon(run)

    def homes_changed(self, *users: str) -> None:
        """Something these users' App Home shows changed: publish it again (coalesced per user)."""
        if self.homes is not None and users:
            self.homes.touch(users)

    def label_recorded(self, result: LabelResult) -> None:
        """Count a click's label in ``labelbot_labels_recorded{project}`` (its project is cached)."""
        if result.kind in (LabelOutcome.RECORDED, LabelOutcome.CHANGED) and result.card is not None:
            project = self.project_of(result.card.item_id)
            if project is not None:
                METRICS.label_recorded(project.key)

    def wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()


def _ids(args: tuple[Any, ...]) -> dict[str, str]:
    """The user and event of the request among a call's arguments: fields of its log line."""
    for arg in args:
        if isinstance(arg, dict) and ("user" in arg or "event_id" in arg):
            user = arg.get("user")
            found = {
                "user": user.get("id") if isinstance(user, dict) else user,
                "event_id": arg.get("event_id"),
            }
            return {name: value for name, value in found.items() if isinstance(value, str)}
    return {}
