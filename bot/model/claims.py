"""Training claims: exactly one host trains a project at a time (table ``training_claims``).

A claim is one row per project: its holder, when it was taken, and when it lapses unless renewed.
Taking it is a conditional UPDATE (the row has lapsed, or is already ours) or, for a project never
claimed, the first INSERT (the primary key refuses the second). On PostgreSQL a concurrent UPDATE
waits for the first one's commit and then finds the row no longer lapsed, so of two hosts one
wins. The holder renews it while it trains (:func:`holding`'s heartbeat); a holder that crashed
stops renewing, its claim lapses after ``LEASE`` and another host takes over.

The server's launcher claims before it starts a training process and hands the holder to it
(``LABELBOT_TRAINING_HOLDER``), so the process renews the launcher's claim instead of competing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import changed, session_scope
from storage.models import TrainingClaim, utcnow

__all__ = [
    "HOLDER_SETTING",
    "LEASE",
    "claim",
    "current_claim",
    "handed_over",
    "holding",
    "new_holder",
    "release",
    "renew",
]

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
HOLDER_SETTING = "LABELBOT_TRAINING_HOLDER"


def new_holder() -> str:
    """A name for one claim: host, process and a random part (a restarted process differs)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def handed_over(env: Mapping[str, str] | None = None) -> str:
    """The holder for a training process: the launcher's, handed over in ``LABELBOT_TRAINING_HOLDER``,
    or a new one (``labelbot model PROJECT --train`` run by hand)."""
    env = os.environ if env is None else env
    return env.get(HOLDER_SETTING) or new_holder()


def claim(session: Session, project_id: int, holder: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take the project's claim for ``holder`` (or renew it if it is already theirs); False when
    another holder's claim has not lapsed."""
    taken = changed(
        session.execute(
            update(TrainingClaim)
            .where(
                TrainingClaim.project_id == project_id,
                or_(TrainingClaim.expires_at <= now, TrainingClaim.holder == holder),
            )
            .values(holder=holder, claimed_at=now, expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )
    )
    if taken:
        return True
    if session.scalar(select(TrainingClaim.project_id).where(TrainingClaim.project_id == project_id)):
        return False
    try:
        with session.begin_nested():
            session.add(
                TrainingClaim(project_id=project_id, holder=holder, claimed_at=now, expires_at=now + lease)
            )
        return True
    except IntegrityError:  # another host inserted it first
        return False


def renew(session: Session, project_id: int, holder: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Push the claim's expiry on; False when it is no longer ``holder``'s (taken over)."""
    return bool(
        changed(
            session.execute(
                update(TrainingClaim)
                .where(TrainingClaim.project_id == project_id, TrainingClaim.holder == holder)
                .values(expires_at=now + lease)
                .execution_options(synchronize_session=False)
            )
        )
    )


def release(session: Session, project_id: int, holder: str) -> None:
    """End ``holder``'s claim (nothing if it is not theirs any more)."""
    session.execute(
        delete(TrainingClaim)
        .where(TrainingClaim.project_id == project_id, TrainingClaim.holder == holder)
        .execution_options(synchronize_session=False)
    )


def current_claim(session: Session, project_id: int, now: datetime) -> TrainingClaim | None:
    """The claim that has not lapsed, if any (for messages: who trains, until when)."""
    return session.scalar(
        select(TrainingClaim).where(TrainingClaim.project_id == project_id, TrainingClaim.expires_at > now)
    )


@contextmanager
def holding(
    factory: sessionmaker[Session],
    project_id: int,
    holder: str,
    *,
    lease: timedelta = LEASE,
    now: Callable[[], datetime] = utcnow,
) -> Iterator[bool]:
    """Claim, renew every fifth of ``lease`` while the block runs, release after it. Yields False
    (and runs no heartbeat) when another holder has the claim."""
    with session_scope(factory) as session:
        got = claim(session, project_id, holder, now(), lease)
    if not got:
        yield False
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease.total_seconds() / 5):
            try:
                with session_scope(factory) as session:
                    if not renew(session, project_id, holder, now(), lease):
                        log.error(
                            "the training claim of project %s was taken over by another host", project_id
                        )
                        return
            except Exception:  # the database may be back at the next beat; the lease leaves room
                log.exception("renewing the training claim of project %s failed", project_id)

    thread = threading.Thread(target=beat, name="labelbot-claim-heartbeat", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join(5)
        with session_scope(factory) as session:
            release(session, project_id, holder)
