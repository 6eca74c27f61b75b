from __future__ import annotations

import pytest
import yaml

from bot.authorization import Action, Permit
from bot.config import ProjectConfig, parse_config
from bot.importer import ItemRow, upsert_items
from bot.items import get_project
from storage.db import session_scope
from storage.models import Item, ItemStatus

LABELS = [
    {"value": "billing", "text": "Billing", "description": "Payments, invoices, refunds"},
    {"value": "bug", "text": "Bug", "description": "Something is broken"},
    {"value": "other", "text": "Other"},
]


def make_config(**overrides):
    project = {
        "key": "support",
        "name": "Support",
        "channel": "C0LABELS",
        "labels": LABELS,
        "experts": {
            "default": ["U0EXPERT"],
            "by_label": {"billing": ["U0FIN"]},
            "by_field": {"language": {"de": ["U0DE"]}},
            "admins": ["U0ADMIN"],
        },
    }
    project.update(overrides)
    return parse_config({"projects": [project]})


def allow(
    project: ProjectConfig, user: str, action: Action = Action.LABEL, subject: int | None = None
) -> Permit:
    """A permit as the authorizer grants it (``bot.authorization``; its own tests check who gets one)."""
    return Permit(action, project, user, subject)


@pytest.fixture
def config():
    return make_config()


@pytest.fixture
def project(config):
    return config.projects[0]


def add_items(factory, n=3, key="support", open_=True, meta=None):
    """Import ``n`` items and mark them open as if posted; returns their ids."""
    with session_scope(factory) as session:
        proj = get_project(session, key)
        upsert_items(
            session, proj, [ItemRow(f"item-{i}", f"text {i}", dict(meta or {}), None) for i in range(n)]
        )
        items = session.query(Item).filter_by(project_id=proj.id).order_by(Item.import_seq).all()
        if open_:
            for i, item in enumerate(items):
                item.status = ItemStatus.OPEN
                item.channel = "C0LABELS"
                item.message_ts = f"1700000000.{i:06d}"
        return [item.id for item in items]


@pytest.fixture
def env(tmp_path, database_url, monkeypatch):
    """A one-project labelbot.yml and the database, for the CLI run in this process."""
    cfg = tmp_path / "labelbot.yml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "projects": [
                    {
                        "key": "support",
                        "name": "Support",
                        "channel": "C0LABELS",
                        "labels": LABELS,
                        "experts": {"admins": ["U0ADMIN"]},  # someone must be able to decide escalations
                    }
                ]
            }
        )
    )
    monkeypatch.setenv("LABELBOT_CONFIG", str(cfg))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LABELBOT_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path
