"""Block Kit validation and normalisation, modelled on what Slack's servers enforce.

Slack rejects a whole message or view when any block breaks a limit, answering with
``invalid_blocks`` (messages) or ``invalid_arguments`` (views) and one error string per
problem, each ending in a JSON pointer.  The bot must never hit these in production, so
the emulator applies the same limits and error style: ``validate_blocks`` / ``validate_view``
are pure functions returning those strings (empty list = valid).

``normalize_blocks`` adds what Slack adds when it stores blocks (generated ``block_id``,
``emoji: true`` on plain_text, ``verbatim: false`` on mrkdwn) so stored messages and the
payloads built from them look like the real thing.
"""

from __future__ import annotations

import copy
import random
import re
import string
from collections.abc import Callable, Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100  # modals and App Home

SELECT_TYPES = {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
MULTI_SELECT_TYPES = {"multi_" + t for t in SELECT_TYPES}
TEXT_INPUT_TYPES = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
}

# Element types each container accepts (from the Block Kit reference).
SECTION_ACCESSORIES = (
    {
        "button",
        "checkboxes",
        "datepicker",
        "image",
        "overflow",
        "radio_buttons",
        "timepicker",
        "workflow_button",
    }
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
)
ACTIONS_ELEMENTS = (
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "overflow",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "workflow_button",
    }
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
)
INPUT_ELEMENTS = (
    {"checkboxes", "datepicker", "datetimepicker", "file_input", "radio_buttons", "timepicker"}
    | TEXT_INPUT_TYPES
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
)
INTERACTIVE_TYPES = ACTIONS_ELEMENTS | INPUT_ELEMENTS

MESSAGE_BLOCK_TYPES = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}
SURFACE_BLOCK_TYPES = MESSAGE_BLOCK_TYPES - {"file", "markdown", "table"}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")
_ID_ALPHABET = string.ascii_letters + string.digits + "+/="


def _ptr(base: str, *parts: object) -> str:
    out = base
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out


class _Validator:
    """Collects Slack-style error strings while walking a block tree."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    # -- primitives -------------------------------------------------------------------------

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        ptr: str,
        *,
        max_len: int,
        required: bool = False,
        min_len: int = 0,
    ) -> None:
        if key not in obj or obj[key] is None:
            if required:
                self.err(f"missing required field: {key}", ptr)
            return
        value = obj[key]
        p = _ptr(ptr, key)
        if not isinstance(value, str):
            self.err("must be a string", p)
        elif len(value) < max(min_len, 1 if required else 0):
            self.err(f"must be more than {max(min_len, 1) - 1} characters", p)
        elif len(value) > max_len:
            self.err(f"must be less than {max_len + 1} characters", p)

    def boolean(self, obj: dict[str, Any], key: str, ptr: str) -> None:
        if key in obj and not isinstance(obj[key], bool):
            self.err("must be a boolean", _ptr(ptr, key))

    def array(
        self,
        obj: dict[str, Any],
        key: str,
        ptr: str,
        *,
        min_items: int,
        max_items: int,
        required: bool = True,
    ) -> list[Any] | None:
        if key not in obj or obj[key] is None:
            if required:
                self.err(f"missing required field: {key}", ptr)
            return None
        value = obj[key]
        p = _ptr(ptr, key)
        if not isinstance(value, list):
            self.err("must be an array", p)
            return None
        if len(value) < min_items:
            self.err(f"must provide at least {min_items} items", p)
        if len(value) > max_items:
            self.err(f"no more than {max_items} items allowed", p)
        return value

    def text(
        self,
        obj: dict[str, Any],
        key: str,
        ptr: str,
        *,
        max_len: int,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        """Validate a text composition object found at ``obj[key]``."""
        if key not in obj or obj[key] is None:
            if required:
                self.err(f"missing required field: {key}", ptr)
            return
        self.text_object(obj[key], _ptr(ptr, key), max_len=max_len, plain_only=plain_only)

    def text_object(self, value: Any, ptr: str, *, max_len: int, plain_only: bool = False) -> None:
        if not isinstance(value, dict):
            self.err("must be an object", ptr)
            return
        inner = _Validator()
        ttype = value.get("type")
        if ttype is None:
            inner.err("missing required field: type", ptr)
        elif (plain_only and ttype != "plain_text") or ttype not in ("plain_text", "mrkdwn"):
            inner.err("must be a valid enum value", _ptr(ptr, "type"))
        inner.string(value, "text", ptr, max_len=max_len, required=True)
        if ttype == "plain_text" and "verbatim" in value:
            inner.err("verbatim is not allowed for plain_text", _ptr(ptr, "verbatim"))
        if ttype == "mrkdwn" and "emoji" in value:
            inner.err("emoji is not allowed for mrkdwn", _ptr(ptr, "emoji"))
        inner.boolean(value, "emoji", ptr)
        inner.boolean(value, "verbatim", ptr)
        if inner.errors:
            if not plain_only:
                # plain_text|mrkdwn is a union schema; Slack reports the union failing first.
                self.err("failed to match all allowed schemas", ptr)
            self.errors.extend(inner.errors)

    # -- composition objects ---------------------------------------------------------------

    def confirm(self, obj: dict[str, Any], ptr: str) -> None:
        if "confirm" not in obj:
            return
        c = obj["confirm"]
        p = _ptr(ptr, "confirm")
        if not isinstance(c, dict):
            self.err("must be an object", p)
            return
        self.text(c, "title", p, max_len=100, plain_only=True)
        self.text(c, "text", p, max_len=300)
        self.text(c, "confirm", p, max_len=30, plain_only=True)
        self.text(c, "deny", p, max_len=30, plain_only=True)
        if "style" in c and c["style"] not in ("primary", "danger"):
            self.err("must be a valid enum value", _ptr(p, "style"))

    def option(
        self,
        opt: Any,
        ptr: str,
        *,
        plain_only: bool,
        allow_url: bool = False,
        allow_description: bool = False,
    ) -> None:
        if not isinstance(opt, dict):
            self.err("must be an object", ptr)
            return
        self.text(opt, "text", ptr, max_len=75, plain_only=plain_only)
        self.string(opt, "value", ptr, max_len=150, required=True)
        if "description" in opt:
            if allow_description:
                self.text(opt, "description", ptr, max_len=75, plain_only=plain_only)
            else:
                self.text(opt, "description", ptr, max_len=75, plain_only=True)
        if "url" in opt:
            if allow_url:
                self.string(opt, "url", ptr, max_len=3000)
            else:
                self.err("url is only allowed in overflow menus", _ptr(ptr, "url"))

    def options(
        self,
        el: dict[str, Any],
        ptr: str,
        *,
        max_items: int,
        min_items: int = 1,
        plain_only: bool = True,
        allow_url: bool = False,
        allow_description: bool = False,
        required: bool = True,
    ) -> list[Any]:
        opts = (
            self.array(el, "options", ptr, min_items=min_items, max_items=max_items, required=required) or []
        )
        seen: set[str] = set()
        for i, opt in enumerate(opts):
            op = _ptr(ptr, "options", i)
            self.option(
                opt, op, plain_only=plain_only, allow_url=allow_url, allow_description=allow_description
            )
            if isinstance(opt, dict) and isinstance(opt.get("value"), str):
                if opt["value"] in seen:
                    self.err(f"duplicate option value: {opt['value']}", _ptr(op, "value"))
                seen.add(opt["value"])
        return opts

    # -- elements --------------------------------------------------------------------------

    def _known_type(self, obj: Any, ptr: str, allowed: set[str]) -> str | None:
        """``obj``'s type if it is an object of an allowed type; otherwise report why and return None."""
        if not isinstance(obj, dict):
            self.err("must be an object", ptr)
            return None
        otype = obj.get("type")
        if otype is None:
            self.err("missing required field: type", ptr)
            return None
        if otype not in allowed:
            self.err(f"unsupported type: {otype}", _ptr(ptr, "type"))
            return None
        return otype

    def element(self, el: Any, ptr: str, allowed: set[str]) -> None:
        etype = self._known_type(el, ptr, allowed)
        if etype is None:
            return
        # Fields every element may carry come first, then the type's own rules (_ELEMENT_RULES).
        if etype != "image":
            self.string(el, "action_id", ptr, max_len=255)
        if "placeholder" in el:
            self.text(el, "placeholder", ptr, max_len=150, plain_only=True)
        self.confirm(el, ptr)
        self.boolean(el, "focus_on_load", ptr)
        rule = _ELEMENT_RULES.get(etype)
        if rule is not None:
            rule(self, el, ptr)
        if etype in MULTI_SELECT_TYPES:
            self._max_selected_items(el, ptr)

    def _button(self, el: dict[str, Any], ptr: str) -> None:
        self.text(el, "text", ptr, max_len=75, plain_only=True)
        self.string(el, "url", ptr, max_len=3000)
        self.string(el, "value", ptr, max_len=2000)
        self.string(el, "accessibility_label", ptr, max_len=75)
        if "style" in el and el["style"] not in ("primary", "danger"):
            self.err("must be a valid enum value", _ptr(ptr, "style"))

    def _static_select(self, el: dict[str, Any], ptr: str) -> None:
        """Options come either flat or in groups; the initial choice must be one of them."""
        if "options" in el and "option_groups" in el:
            self.err("must provide either options or option_groups, not both", ptr)
        if "option_groups" in el:
            offered = self._option_groups(el, ptr)
        else:
            offered = self.options(el, ptr, max_items=100)
        values = {o["value"] for o in offered if isinstance(o, dict) and isinstance(o.get("value"), str)}
        self._initial_options(el, ptr, values, multi=el["type"].startswith("multi_"))

    def _option_groups(self, el: dict[str, Any], ptr: str) -> list[Any]:
        """Validate ``option_groups``; returns the options of all well-formed groups, in order."""
        offered: list[Any] = []
        groups = self.array(el, "option_groups", ptr, min_items=1, max_items=100) or []
        for gi, g in enumerate(groups):
            gp = _ptr(ptr, "option_groups", gi)
            if not isinstance(g, dict):
                self.err("must be an object", gp)
                continue
            self.text(g, "label", gp, max_len=75, plain_only=True)
            offered.extend(self.options(g, gp, max_items=100))
        return offered

    def _external_select(self, el: dict[str, Any], ptr: str) -> None:
        if "min_query_length" in el and not isinstance(el["min_query_length"], int):
            self.err("must be an integer", _ptr(ptr, "min_query_length"))

    def _choices(self, el: dict[str, Any], ptr: str, *, multi: bool) -> None:
        """Radio buttons and checkboxes: rich option text and descriptions, up to 10 options."""
        values = {
            o.get("value")
            for o in self.options(el, ptr, max_items=10, plain_only=False, allow_description=True)
            if isinstance(o, dict)
        }
        self._initial_options(el, ptr, values, multi=multi)

    def _plain_text_input(self, el: dict[str, Any], ptr: str) -> None:
        self.boolean(el, "multiline", ptr)
        self._int_between(el, "min_length", ptr, 0, 3000)
        self._int_between(el, "max_length", ptr, 1, 3000)
        if "initial_value" in el and not isinstance(el["initial_value"], str):
            self.err("must be a string", _ptr(ptr, "initial_value"))

    def _int_between(self, obj: dict[str, Any], key: str, ptr: str, lo: int, hi: int) -> None:
        """An optional integer field (booleans are not integers here) within ``lo..hi``."""
        if key not in obj:
            return
        v = obj[key]
        if not isinstance(v, int) or isinstance(v, bool):
            self.err("must be an integer", _ptr(ptr, key))
        elif v < lo:
            self.err(f"must be at least {lo}", _ptr(ptr, key))
        elif v > hi:
            self.err(f"must be at most {hi}", _ptr(ptr, key))

    def _number_input(self, el: dict[str, Any], ptr: str) -> None:
        if not isinstance(el.get("is_decimal_allowed"), bool):
            self.err("missing required field: is_decimal_allowed", ptr)

    def _formatted(
        self, obj: dict[str, Any], key: str, ptr: str, pattern: re.Pattern[str], message: str
    ) -> None:
        """An optional string field that must match ``pattern`` (dates, times)."""
        if key in obj and not (isinstance(obj[key], str) and pattern.match(obj[key])):
            self.err(message, _ptr(ptr, key))

    def _workflow_button(self, el: dict[str, Any], ptr: str) -> None:
        self.text(el, "text", ptr, max_len=75, plain_only=True)
        if "workflow" not in el:
            self.err("missing required field: workflow", ptr)

    def _max_selected_items(self, el: dict[str, Any], ptr: str) -> None:
        if "max_selected_items" not in el:
            return
        v = el["max_selected_items"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            self.err("must be at least 1", _ptr(ptr, "max_selected_items"))

    def _initial_options(self, el: dict[str, Any], ptr: str, values: set[Any], *, multi: bool) -> None:
        key = "initial_options" if multi else "initial_option"
        if key not in el:
            return
        chosen = el[key] if multi else [el[key]]
        if not isinstance(chosen, list):
            self.err("must be an array", _ptr(ptr, key))
            return
        for i, o in enumerate(chosen):
            p = _ptr(ptr, key, i) if multi else _ptr(ptr, key)
            if not isinstance(o, dict) or o.get("value") not in values:
                self.err("must match one of the provided options", p)

    def _image(self, obj: dict[str, Any], ptr: str) -> None:
        if "image_url" not in obj and "slack_file" not in obj:
            self.err("must provide either image_url or slack_file", ptr)
        self.string(obj, "image_url", ptr, max_len=3000)
        self.string(obj, "alt_text", ptr, max_len=2000, required=True)

    # -- blocks ----------------------------------------------------------------------------

    def block(self, block: Any, ptr: str, allowed_types: set[str]) -> None:
        btype = self._known_type(block, ptr, allowed_types)
        if btype is None:
            return
        self.string(block, "block_id", ptr, max_len=255)
        rule = _BLOCK_RULES.get(btype)
        if rule is not None:
            rule(self, block, ptr)

    def _section(self, block: dict[str, Any], ptr: str) -> None:
        if "text" not in block and "fields" not in block:
            self.err("must define either `text` or `fields`", ptr)
        if "text" in block:
            self.text(block, "text", ptr, max_len=3000)
        fields = self.array(block, "fields", ptr, min_items=1, max_items=10, required=False) or []
        for i, f in enumerate(fields):
            self.text_object(f, _ptr(ptr, "fields", i), max_len=2000)
        if "accessory" in block:
            self.element(block["accessory"], _ptr(ptr, "accessory"), SECTION_ACCESSORIES)
        self.boolean(block, "expand", ptr)

    def _context(self, block: dict[str, Any], ptr: str) -> None:
        elements = self.array(block, "elements", ptr, min_items=1, max_items=10) or []
        for i, e in enumerate(elements):
            ep = _ptr(ptr, "elements", i)
            if isinstance(e, dict) and e.get("type") == "image":
                self._image(e, ep)
            else:
                self.text_object(e, ep, max_len=3000)

    def _actions(self, block: dict[str, Any], ptr: str) -> None:
        """Up to 25 interactive elements whose action_ids are unique within the block."""
        elements = self.array(block, "elements", ptr, min_items=1, max_items=25) or []
        seen: set[str] = set()
        for i, e in enumerate(elements):
            ep = _ptr(ptr, "elements", i)
            self.element(e, ep, ACTIONS_ELEMENTS)
            aid = e.get("action_id") if isinstance(e, dict) else None
            if isinstance(aid, str):
                if aid in seen:
                    self.err(f"duplicate action_id: {aid}", _ptr(ep, "action_id"))
                seen.add(aid)

    def _input(self, block: dict[str, Any], ptr: str) -> None:
        self.text(block, "label", ptr, max_len=2000, plain_only=True)
        if "hint" in block:
            self.text(block, "hint", ptr, max_len=2000, plain_only=True)
        if "element" not in block:
            self.err("missing required field: element", ptr)
        else:
            self.element(block["element"], _ptr(ptr, "element"), INPUT_ELEMENTS)
        self.boolean(block, "optional", ptr)
        self.boolean(block, "dispatch_action", ptr)

    def _image_block(self, block: dict[str, Any], ptr: str) -> None:
        self._image(block, ptr)
        if "title" in block:
            self.text(block, "title", ptr, max_len=2000, plain_only=True)

    def _file(self, block: dict[str, Any], ptr: str) -> None:
        self.string(block, "external_id", ptr, max_len=255, required=True)
        self.string(block, "source", ptr, max_len=255, required=True)

    def _video(self, block: dict[str, Any], ptr: str) -> None:
        for key in ("alt_text", "thumbnail_url", "video_url"):
            self.string(block, key, ptr, max_len=3000, required=True)
        self.text(block, "title", ptr, max_len=200, plain_only=True)

    def blocks(self, blocks: Any, ptr: str, *, max_blocks: int, allowed_types: set[str]) -> None:
        if not isinstance(blocks, list):
            self.err("must be an array", ptr)
            return
        if len(blocks) > max_blocks:
            self.err(f"no more than {max_blocks} items allowed", ptr)
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            bp = _ptr(ptr, i)
            self.block(block, bp, allowed_types)
            bid = block.get("block_id") if isinstance(block, dict) else None
            if isinstance(bid, str):
                if bid in seen:
                    self.err(f"duplicate block_id: {bid}", _ptr(bp, "block_id"))
                seen.add(bid)


# The checks for the fields only one type has, by type: each takes (validator, object, json
# pointer) and records errors (whatever it returns is ignored).  Types missing from a table
# have no fields of their own (e.g. divider, datetimepicker).
_Rule = Callable[[_Validator, dict[str, Any], str], object]

_ELEMENT_RULES: dict[str, _Rule] = {
    "button": _Validator._button,
    "static_select": _Validator._static_select,
    "multi_static_select": _Validator._static_select,
    "external_select": _Validator._external_select,
    "multi_external_select": _Validator._external_select,
    "overflow": lambda v, el, ptr: v.options(el, ptr, min_items=1, max_items=5, allow_url=True),
    "radio_buttons": lambda v, el, ptr: v._choices(el, ptr, multi=False),
    "checkboxes": lambda v, el, ptr: v._choices(el, ptr, multi=True),
    "plain_text_input": _Validator._plain_text_input,
    "number_input": _Validator._number_input,
    "datepicker": lambda v, el, ptr: v._formatted(
        el, "initial_date", ptr, _DATE_RE, "must be a valid date (YYYY-MM-DD)"
    ),
    "timepicker": lambda v, el, ptr: v._formatted(
        el, "initial_time", ptr, _TIME_RE, "must be a valid time (HH:mm)"
    ),
    "image": _Validator._image,
    "workflow_button": _Validator._workflow_button,
}

_BLOCK_RULES: dict[str, _Rule] = {
    "section": _Validator._section,
    "header": lambda v, b, ptr: v.text(b, "text", ptr, max_len=150, plain_only=True),
    "context": _Validator._context,
    "actions": _Validator._actions,
    "input": _Validator._input,
    "image": _Validator._image_block,
    "rich_text": lambda v, b, ptr: v.array(b, "elements", ptr, min_items=0, max_items=10_000),
    "markdown": lambda v, b, ptr: v.string(b, "text", ptr, max_len=12000, required=True),
    "file": _Validator._file,
    "video": _Validator._video,
}


def validate_blocks(blocks: Any, *, surface: str = "message", pointer: str = "/blocks") -> list[str]:
    """Return Slack-style errors for a ``blocks`` array (``surface``: message, modal or home)."""
    v = _Validator()
    if surface == "message":
        v.blocks(blocks, pointer, max_blocks=MAX_MESSAGE_BLOCKS, allowed_types=MESSAGE_BLOCK_TYPES)
    else:
        v.blocks(blocks, pointer, max_blocks=MAX_SURFACE_BLOCKS, allowed_types=SURFACE_BLOCK_TYPES)
    return v.errors


def validate_view(view: Any, *, pointer: str = "/view") -> list[str]:
    """Return Slack-style errors for a modal or App Home view object."""
    v = _Validator()
    if not isinstance(view, dict):
        v.err("must be an object", pointer)
        return v.errors
    vtype = view.get("type")
    if vtype not in ("modal", "home"):
        v.err("must be a valid enum value", _ptr(pointer, "type"))
        return v.errors
    if vtype == "modal":
        v.text(view, "title", pointer, max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view and view[key] is not None:
                v.text(view, key, pointer, max_len=24, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            v.err("must provide a submit property when using input blocks", pointer)
        v.boolean(view, "clear_on_close", pointer)
        v.boolean(view, "notify_on_close", pointer)
        v.boolean(view, "submit_disabled", pointer)
    if "blocks" not in view:
        v.err("missing required field: blocks", pointer)
    else:
        v.blocks(
            view["blocks"],
            _ptr(pointer, "blocks"),
            max_blocks=MAX_SURFACE_BLOCKS,
            allowed_types=SURFACE_BLOCK_TYPES,
        )
    v.string(view, "private_metadata", pointer, max_len=3000)
    v.string(view, "callback_id", pointer, max_len=255)
    v.string(view, "external_id", pointer, max_len=255)
    return v.errors


# -- normalisation ---------------------------------------------------------------------------


def generate_block_id(rng: random.Random | None = None) -> str:
    """A short opaque id like the ones Slack assigns (e.g. ``"quY0"``, ``"+C50"``)."""
    r = rng or random
    return "".join(r.choice(_ID_ALPHABET) for _ in range(r.randint(3, 5)))


def _normalize_text_objects(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
            node.setdefault("emoji", True)
        elif node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            node.setdefault("verbatim", False)
        for value in node.values():
            _normalize_text_objects(value)
    elif isinstance(node, list):
        for item in node:
            _normalize_text_objects(item)


def normalize_blocks(blocks: list[dict[str, Any]], rng: random.Random | None = None) -> list[dict[str, Any]]:
    """Return a copy of (valid) blocks as Slack stores them: ids filled in, text flags defaulted."""
    out = copy.deepcopy(blocks)
    used = {b.get("block_id") for b in out if isinstance(b, dict)}
    for b in out:
        if isinstance(b, dict) and "block_id" not in b:
            bid = generate_block_id(rng)
            while bid in used:
                bid = generate_block_id(rng)
            used.add(bid)
            b["block_id"] = bid
    for _, el in iter_interactive_elements(out):
        if "action_id" not in el:
            el["action_id"] = generate_block_id(rng)
    _normalize_text_objects(out)
    return out


def iter_interactive_elements(
    blocks: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(block, element)`` for every element a user can act on, in display order."""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "section" and isinstance(block.get("accessory"), dict):
            if block["accessory"].get("type") in INTERACTIVE_TYPES:
                yield block, block["accessory"]
        elif btype == "actions":
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") in INTERACTIVE_TYPES:
                    yield block, el
        elif btype == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    """Options of a select/overflow/radio/checkbox element, flattening option_groups."""
    if "option_groups" in element:
        return [o for g in element.get("option_groups") or [] for o in (g.get("options") or [])]
    return list(element.get("options") or [])
