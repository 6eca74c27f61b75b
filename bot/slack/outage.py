"""A database outage, told to the user instead of a 5xx or silence.

Label clicks handle it themselves (``bot.slack.listeners.labels``: the click is acked and the user
told the label was not recorded). Every other request that needs the database goes through here:

* before the ack (Bolt's error handler): a slash command gets an ephemeral answer in its ack; a
  modal's submission stays open with the notice on its first input (nothing typed is lost); a
  button, menu or shortcut is acked and, when Slack gave a ``response_url``, the user gets an
  ephemeral notice. Events keep Bolt's 500: Slack redelivers them later, when the database may
  be back (a thread reply is stored then, not lost).
* after the ack (lazy listeners: modals opened, answers sent): the notice by ``response_url``
  when there is one. A button in an App Home or in a modal has none: the notice opens as a small
  modal (``views.open`` from a Home, ``views.push`` over a modal, so what was typed in it stays),
  with the click's trigger_id, which is valid for 3 s. Neither call needs the database.

Any other error keeps Bolt's behaviour: logged with its traceback, a 500 before the ack.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.slack.blocks.modals import notice_modal
from bot.slack.listeners.routes import RUNTIME_KEY
from bot.slack.runtime import Runtime

__all__ = ["NOTICE", "answer_error", "notice_call", "outage_answer", "telling_outage"]

log = logging.getLogger(__name__)
NOTICE = (
    ":warning: labelbot cannot reach its database right now, so this was *not done*. "
    "Please try again in a minute."
)
MODAL_NOTICE = "labelbot cannot reach its database right now: nothing was saved. Submit again in a minute."


def outage_answer(body: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """What to answer, in the ack, a request that failed on a database outage: the ack's JSON body
    (None: an empty ack), and whether to tell the user by ``response_url`` after it."""
    if "command" in body:
        return {"response_type": "ephemeral", "text": NOTICE}, False
    if body.get("type") == "view_submission":
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        blocks = view.get("blocks") if isinstance(view, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            is_input = isinstance(block, dict) and block.get("type") == "input"
            input_id = block.get("block_id") if is_input else None
            if isinstance(input_id, str):
                return {"response_action": "errors", "errors": {input_id: MODAL_NOTICE}}, False
        return None, False
    return None, isinstance(_response_url(body), str)


def answer_error(error: Exception, body: dict[str, Any], request: BoltRequest) -> BoltResponse | None:
    """Bolt's listener error handler (before the ack): see the module's docstring."""
    why = Runtime.outage(error)
    if why is None or body.get("type") == "event_callback":
        if why is None:
            log.error("a listener failed", exc_info=error)
        else:
            log.warning("an event was not handled (database unreachable: %s); Slack redelivers it", why)
        return None  # Bolt's 500
    log.warning("a request was answered with a notice: the database is unreachable (%s)", why)
    ack, tell = outage_answer(body)
    if tell:
        _tell(request.context.get(RUNTIME_KEY), body)
    if ack is None:
        return BoltResponse(status=200, body="")
    return BoltResponse(status=200, body=json.dumps(ack), headers={"content-type": "application/json"})


def telling_outage(function: Callable[..., None], request: BoltRequest) -> Callable[..., None]:
    """A lazy listener (after the ack) that, on a database outage, tells the user by ``response_url``
    when the request has one; any other error propagates (Bolt logs it)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except Exception as exc:
            why = Runtime.outage(exc)
            if why is None:
                raise
            log.warning("work after an ack was not done: the database is unreachable (%s)", why)
            rt = request.context.get(RUNTIME_KEY)
            if not _tell(rt, request.body) and isinstance(rt, Runtime):
                _show_notice(rt.client, request.body)

    return run


def _response_url(body: dict[str, Any]) -> object:
    url = body.get("response_url")
    if url is None and isinstance(body.get("response_urls"), list) and body["response_urls"]:
        first = body["response_urls"][0]
        url = first.get("response_url") if isinstance(first, dict) else None
    return url


def _tell(rt: object, body: dict[str, Any]) -> bool:
    """Tell the user by the request's ``response_url``; False when it has none."""
    url = _response_url(body)
    if not isinstance(rt, Runtime) or not isinstance(url, str):
        return False
    rt.responder.send(url, {"text": NOTICE}, response_type="ephemeral")
    return True


def notice_call(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The Web API call that shows the notice for a button of an App Home (``views.open``) or of a
    modal (``views.push``), with its arguments; None for any other request."""
    view, trigger = body.get("view"), body.get("trigger_id")
    if body.get("type") != "block_actions" or not isinstance(view, dict) or not isinstance(trigger, str):
        return None
    method = {"home": "views.open", "modal": "views.push"}.get(str(view.get("type")))
    if method is None:
        return None
    return method, {"trigger_id": trigger, "view": notice_modal("Not done", NOTICE)}


def _show_notice(client: WebClient, body: dict[str, Any]) -> None:
    call = notice_call(body)
    if call is None:
        return
    method, arguments = call
    try:
        if method == "views.open":
            client.views_open(**arguments)
        else:
            client.views_push(**arguments)
    except SlackClientError as exc:  # an expired trigger, Slack out of reach: the log says it
        log.warning("the outage notice could not be shown (%s: %s)", method, exc)
