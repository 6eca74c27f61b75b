"""The image's entrypoint with compose.yml's commands and environment, run in this virtual
environment (no image is built here): the migration, two web processes and the worker on one
database, Slack's requests answered by the web processes, items posted by the worker."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.scenarios.conftest import CHANNEL, LABELBOT, ProcessBot, bot_env, free_port, wait_items
from tests.scenarios.test_operations import scrape, value
from tests.test_deployment import entrypoint, labelbot_services

ITEMS = [{"id": f"d-{n}", "text": f"ticket {n}", "language": "en"} for n in range(3)]


def compose_env(service: str, base: dict[str, str], port: int) -> dict[str, str]:
    """The service's compose environment, with what only the test can know: Slack (the emulator),
    the database, the configuration file and a free port."""
    env = dict(base)
    for name, val in labelbot_services()[service]["environment"].items():
        if name not in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "LABELBOT_CONFIG"):
            env[name] = str(val)
    env["LABELBOT_PORT"] = str(port)
    if labelbot_services()[service]["environment"].get("SLACK_SIGNING_SECRET") == "":
        env.pop("SLACK_SIGNING_SECRET")
    url = env["DATABASE_URL"]
    if url.startswith("postgresql+psycopg://"):  # the form compose.yml (and hosting platforms) write
        env["DATABASE_URL"] = "postgres://" + url.removeprefix("postgresql+psycopg://")
    return env


def argv(service: str) -> list[str]:
    command = [*entrypoint(), *labelbot_services()[service]["command"]]
    assert command[0] == "labelbot"
    return [LABELBOT, *command[1:]]


class Service:
    def __init__(self, name: str, base: dict[str, str], workdir: Path) -> None:
        self.name, self.port = name, free_port()
        self.log = workdir / f"{name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv(name),
                env=compose_env(name, base, self.port),
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} stopped:\n{self.log.read_text()}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def test_the_compose_services_run_from_the_entrypoint(tmp_path, database_url, slack):
    base = bot_env(tmp_path, database_url, slack)
    setup = ProcessBot(tmp_path, base, slack, False)
    setup.configure()
    migrate = subprocess.run(
        argv("migrate"),
        env=compose_env("migrate", base, free_port()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert migrate.stdout.startswith("database at ") and " -> " in migrate.stdout
    setup.import_items(ITEMS)

    services = [Service(name, base, tmp_path) for name in ("web1", "web2", "worker")]
    try:
        for service in services:
            service.wait_ready()
        web1, web2, worker = services
        for service, role in ((web1, "web"), (web2, "web"), (worker, "worker")):
            assert httpx.get(f"{service.url}/healthz").json() == {"ok": True, "mode": "http", "role": role}
        assert httpx.post(f"{worker.url}/slack/events", content=b"{}").status_code in (404, 405)

        messages = wait_items(slack, 3)  # the worker posts
        for n, (service, user) in enumerate(((web1, "U0ANN1"), (web2, "U0ANN2"))):
            slack.deliver_to_http(f"{service.url}/slack/events")
            assert slack.click(user, CHANNEL, messages[n]["ts"], "label:billing").status == 200
        slack.wait_for(lambda: len(slack.ephemerals()) >= 2, timeout=15)

        for web in (web1, web2):
            samples = scrape(web.url)
            assert value(samples, "labelbot_labels_recorded_total", project="support") == 1
            assert value(samples, "labelbot_item_claims_total", project="support") == 0  # web posts nothing
        samples = scrape(worker.url)
        assert value(samples, "labelbot_item_claims_total", project="support") == 3
        assert value(samples, "labelbot_queue_depth", project="support") == 0
    finally:
        for service in services:
            service.stop()

    for service in services:
        lines = [line for line in service.log.read_text().splitlines() if line.strip()]
        assert lines, service.name
        for line in lines:  # --log-format json from LABELBOT_LOG_FORMAT: every line an object
            record = json.loads(line)
            assert {"ts", "level", "logger", "message"} <= set(record)
        text = service.log.read_text()
        assert slack.bot_token not in text and slack.signing_secret not in text
