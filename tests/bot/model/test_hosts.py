"""Models in the database and training claims: what lets several hosts share one project."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import ClassVar

import joblib
import pytest
import yaml
from sqlalchemy import func, select

from bot.items import get_project
from bot.learning.pipeline import build_default_pipeline, save_model
from bot.model import artifacts, claims
from bot.model.launcher import TrainingLauncher
from bot.model.training import latest_model, train_project
from storage.db import read_scope, session_scope
from storage.models import ModelArtifact, ModelVersion, TrainingClaim, utcnow
from tests.bot.conftest import LABELS, make_config
from tests.bot.model.test_model import WORDS, seed, texts


@pytest.fixture
def factory(committing_factory):
    return committing_factory


@pytest.fixture(autouse=True)
def another_host(tmp_path, monkeypatch):
    """Every test starts like a fresh host: an empty working folder and no model in memory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(artifacts.MAX_MB_SETTING, raising=False)
    artifacts._cache.clear()


def test_a_trained_model_lives_in_the_database_and_loads_on_another_host(factory, tmp_path):
    project = make_config(model={"min_labels": 10}).projects[0]
    pid = seed(factory, None)
    outcome = train_project(factory, project, pid)
    assert outcome.status == "trained"
    assert not list(tmp_path.rglob("*.joblib"))  # nothing on this host's disk
    with read_scope(factory) as session:
        row = session.scalar(select(ModelVersion))
        stored = session.get(ModelArtifact, (pid, outcome.version))
        assert row is not None and row.path is None
        assert stored is not None and stored.size == len(stored.data) > 0
    artifacts._cache.clear()  # another process: nothing cached
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    assert version == outcome.version
    assert model.predict(["invoice refund charge payment card n999"])[0] == "billing"


def test_a_users_pipeline_file_is_read_at_training_and_not_needed_after(factory, tmp_path):
    path = tmp_path / "mine.joblib"
    labeled = [t for lab in WORDS for t in texts(lab, 6)]
    joblib.dump(build_default_pipeline(min_df=1).fit(labeled, [lab for lab in WORDS for _ in range(6)]), path)
    project = make_config(model={"min_labels": 10, "pipeline": str(path)}).projects[0]
    pid = seed(factory, None)
    assert train_project(factory, project, pid).status == "trained"
    path.unlink()  # the worker that read it is gone; the others never had it
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    assert version == 1 and set(model.classes_) == set(WORDS)


def test_a_model_saved_as_a_file_before_0006_is_still_read(factory, tmp_path):
    project = make_config(model={"min_labels": 10}).projects[0]
    pid = seed(factory, None)
    labeled = [t for lab in WORDS for t in texts(lab, 6)]
    fitted = build_default_pipeline(min_df=1).fit(labeled, [lab for lab in WORDS for _ in range(6)])
    path = save_model(fitted, tmp_path / "models" / "support" / "v1.joblib")
    with session_scope(factory) as session:
        session.add(ModelVersion(project_id=pid, version=1, path=str(path), status="trained", n_labels=18))
    with read_scope(factory) as session:
        version, model = latest_model(session, project, pid)
    assert version == 1 and set(model.classes_) == set(WORDS)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.0001", "MB, above LABELBOT_MODEL_MAX_MB=9.92e-05; raise LABELBOT_MODEL_MAX_MB or make the model"),
        ("lots", "LABELBOT_MODEL_MAX_MB must be a positive number of megabytes, e.g. 200 (got 'lots')"),
        ("-5", "LABELBOT_MODEL_MAX_MB must be a positive number"),
    ],
)
def test_a_model_above_the_size_cap_is_a_failed_version_with_the_reason(factory, monkeypatch, value, message):
    monkeypatch.setenv(artifacts.MAX_MB_SETTING, value)
    project = make_config(model={"min_labels": 10}).projects[0]
    pid = seed(factory, None)
    outcome = train_project(factory, project, pid)
    assert outcome.status == "failed" and message in (outcome.error or "")
    with read_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(ModelArtifact)) == 0
        assert session.scalar(select(ModelVersion.status)) == "failed"
        assert latest_model(session, project, pid) is None


def test_a_stored_model_of_another_scikit_learn_is_refused_unread(factory):
    project = make_config(model={"min_labels": 10}).projects[0]
    pid = seed(factory, None)
    train_project(factory, project, pid)
    with session_scope(factory) as session:
        session.get(ModelArtifact, (pid, 1)).sklearn_version = "0.1"
    with read_scope(factory) as session:
        assert latest_model(session, project, pid) is None  # logged, labeling goes on without it


# -- training claims -------------------------------------------------------------------------------
def _pid(factory) -> int:
    with session_scope(factory) as session:
        return get_project(session, "support").id


def test_one_holder_at_a_time_and_a_lapsed_claim_is_taken_over(factory):
    pid, now = _pid(factory), utcnow()
    with session_scope(factory) as session:
        assert claims.claim(session, pid, "host-a", now)
        assert not claims.claim(session, pid, "host-b", now + timedelta(minutes=1))
        assert claims.claim(session, pid, "host-a", now + timedelta(minutes=1))  # a renewal
        assert claims.renew(session, pid, "host-a", now + timedelta(minutes=2))
    later = now + timedelta(minutes=2) + claims.LEASE  # host-a crashed: no beat since
    with session_scope(factory) as session:
        assert claims.claim(session, pid, "host-b", later)
        assert not claims.renew(session, pid, "host-a", later)  # it learns it lost the claim
        claims.release(session, pid, "host-a")  # not theirs: nothing happens
        assert claims.current_claim(session, pid, later).holder == "host-b"
        claims.release(session, pid, "host-b")
        assert claims.current_claim(session, pid, later) is None


def test_of_many_hosts_claiming_at_once_exactly_one_wins(factory):
    pid, now = _pid(factory), utcnow()
    start = threading.Barrier(6)
    won: list[str] = []

    def host(name: str) -> None:
        start.wait()
        with session_scope(factory) as session:
            if claims.claim(session, pid, name, now):
                won.append(name)

    threads = [threading.Thread(target=host, args=(f"host-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    with read_scope(factory) as session:
        assert session.scalar(select(TrainingClaim.holder)) == won[0]


def test_holding_renews_and_releases(factory):
    pid = _pid(factory)
    with claims.holding(factory, pid, "host-a", lease=timedelta(seconds=0.5)) as held:
        assert held
        with claims.holding(factory, pid, "host-b") as other:
            assert not other
        with read_scope(factory) as session:
            first = session.scalar(select(TrainingClaim.expires_at))
        # The heartbeat renews every 0.1 s: wait (bounded) until it has moved the expiry on.
        for _ in range(100):
            with read_scope(factory) as session:
                if session.scalar(select(TrainingClaim.expires_at)) > first:
                    break
            threading.Event().wait(0.05)
        else:
            raise AssertionError("the claim was never renewed")
    with read_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(TrainingClaim)) == 0


class _FakeProcess:
    started: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, command: list[str], **kwargs: object) -> None:
        env = kwargs["env"]
        assert isinstance(env, dict)
        self.started.append((command[-2], env[claims.HOLDER_SETTING]))
        self.done = threading.Event()

    def poll(self) -> int | None:
        return 0 if self.done.is_set() else None

    def wait(self) -> int:
        self.done.wait(30)
        return 0

    def terminate(self) -> None:
        self.done.set()


def test_two_hosts_launchers_start_one_training(factory, monkeypatch):
    """Each worker host's launcher finds the retrain due; the claim lets one of them start it."""
    monkeypatch.setattr("bot.model.launcher.subprocess.Popen", _FakeProcess)
    _FakeProcess.started = []
    config = make_config(model={"min_labels": 10})
    pid = seed(factory, None)
    hosts = [TrainingLauncher(factory, list(config.projects), {"support": pid}) for _ in range(2)]
    assert [h.check() for h in hosts] == [["support"], []]
    assert hosts[1].check() == []  # still held while the first host's process runs
    [(_project, holder)] = _FakeProcess.started
    with read_scope(factory) as session:
        assert session.scalar(select(TrainingClaim.holder)) == holder  # handed to the process
    hosts[0].stop()  # the process ends: the launcher releases the claim
    for _ in range(200):
        with read_scope(factory) as session:
            if session.scalar(select(func.count()).select_from(TrainingClaim)) == 0:
                break
        threading.Event().wait(0.05)
    else:
        raise AssertionError("the claim was not released when the process ended")


def test_the_cli_refuses_to_train_while_another_host_holds_the_claim(
    factory, database_url, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from bot.cli import app

    config = tmp_path / "labelbot.yml"
    project = {
        "key": "support",
        "name": "Support",
        "channel": "C0LABELS",
        "labels": LABELS,
        "experts": {"admins": ["U0ADMIN"]},
    }
    config.write_text(yaml.safe_dump({"projects": [{**project, "model": {"min_labels": 10}}]}))
    pid = seed(factory, None)
    with session_scope(factory) as session:
        claims.claim(session, pid, "another-host", utcnow())
    env = {"DATABASE_URL": database_url, "LABELBOT_CONFIG": str(config)}
    result = CliRunner().invoke(app, ["model", "support", "--train", "--nice", "0"], env=env)
    assert result.exit_code == 2, result.output
    assert "another process is training this project now" in result.output
    with session_scope(factory) as session:  # the claim is handed over, as the launcher does
        claims.release(session, pid, "another-host")
        claims.claim(session, pid, "launcher-1", utcnow())
    result = CliRunner().invoke(
        app,
        ["model", "support", "--train", "--nice", "0"],
        env={**env, claims.HOLDER_SETTING: "launcher-1"},
    )
    assert result.exit_code == 0, result.output
    assert "trained v1" in result.output
    with read_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(TrainingClaim)) == 0  # released
