"""``labelbot.yml``: the projects, validated with messages that say what to fix.

A bad file fails as a whole with every problem listed as
``project 'support' → labels[2].value: ...`` so the user can fix them in one pass.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.privacy import DETECTORS, CustomPattern, redactor

__all__ = [
    "AnnotatorsPerItem",
    "Config",
    "ConfigError",
    "DigestConfig",
    "EscalationConfig",
    "ExpertsConfig",
    "LabelOption",
    "ModelConfig",
    "PrivacyConfig",
    "ProjectConfig",
    "QualityConfig",
    "load_config",
    "parse_config",
    "parse_duration",
]

# Matched whole (``fullmatch``): ``$`` also matches before a trailing newline.
SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,}")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
DM_ID = re.compile(r"D[A-Z0-9]{2,}")
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
DURATION = re.compile(r"\s*(\d+)\s*([smhdw])\s*")
MESSAGE_KEY = re.compile(r"([a-z_]+(?:\.[a-z_]+)*): ")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every problem and where it is."""


def parse_duration(value: str | int | timedelta) -> timedelta:
    """``30m``, ``24h``, ``3d``, ``1w`` (or seconds as a number) to a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = DURATION.fullmatch(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write it like 30m, 24h or 3d")
    amount, unit = match.groups()
    return timedelta(**{DURATION_UNITS[unit]: int(amount)})


Duration = Annotated[timedelta, Field(description="a duration like 30m, 24h, 3d")]


def _check_channel(value: str, dm_hint: str) -> str:
    """A channel (C…) or private channel (G…) ID; a direct message (D…) is refused with ``dm_hint``.

    A DM's ID names one conversation of the bot with one person: others cannot label or
    decide there, and the bot may not read its history (no ``im:history`` scope) to
    reconcile what it posted.
    """
    if DM_ID.fullmatch(value):
        raise ValueError(f"{value!r} is a direct-message ID, not a channel ID (C…/G…); {dm_hint}")
    if value.startswith("#") or (value[:1].islower() and not CHANNEL_ID.fullmatch(value)):
        raise ValueError(
            f"{value!r} is a channel name, not a channel ID; labelbot needs the ID (C…/G…, like "
            "C0123ABCD): open the channel's details, the ID is at the bottom of the About tab"
        )
    if not CHANNEL_ID.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a channel ID (C…/G…, like C0123ABCD); copy it from the channel details"
        )
    return value


def _check_ids(ids: list[str]) -> list[str]:
    bad = [i for i in ids if not isinstance(i, str) or not SLACK_ID.fullmatch(i)]
    if bad:
        names = any(isinstance(i, str) and i.startswith("@") for i in bad)
        hint = (
            "; that is a name: use the member ID (profile → ⋮ → Copy member ID) or the user group's ID"
            if names
            else ""
        )
        raise ValueError(
            f"{', '.join(map(repr, bad))}: not a Slack user ID (U…/W…) or user-group ID (S…){hint}"
        )
    return ids


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelOption(_Strict):
    value: str = Field(min_length=1, max_length=150)
    text: str = Field(min_length=1, max_length=75)
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("value")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.fullmatch(v):
            raise ValueError(f"{v!r} is not a short slug (letters, digits, and _ . : - ; no spaces)")
        return v


class AnnotatorsPerItem(_Strict):
    """How many labels an item needs: fixed (``min == max``) or dynamic overlap."""

    min: int = Field(ge=1, le=50)
    max: int = Field(ge=1, le=50)

    @model_validator(mode="after")
    def _order(self) -> AnnotatorsPerItem:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self

    @property
    def fixed(self) -> bool:
        return self.min == self.max


class ExpertsConfig(_Strict):
    default: list[str] = Field(default_factory=list)
    by_label: dict[str, list[str]] = Field(default_factory=dict)
    by_field: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    admins: list[str] = Field(default_factory=list)

    @field_validator("default", "admins")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        return _check_ids(v)

    @field_validator("by_label")
    @classmethod
    def _label_ids(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for ids in v.values():
            _check_ids(ids)
        return v

    def everyone(self) -> set[str]:
        """Every user and user-group ID named here (default, by label, by field, admins)."""
        ids = {*self.default, *self.admins}
        ids.update(i for v in self.by_label.values() for i in v)
        ids.update(i for f in self.by_field.values() for v in f.values() for i in v)
        return ids

    @field_validator("by_field")
    @classmethod
    def _field_ids(cls, v: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for values in v.values():
            for ids in values.values():
                _check_ids(ids)
        return v


class EscalationConfig(_Strict):
    remind_after: Duration = timedelta(hours=24)
    fallback_after: Duration = timedelta(hours=72)

    @field_validator("remind_after", "fallback_after", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @model_validator(mode="after")
    def _order(self) -> EscalationConfig:
        if self.fallback_after < self.remind_after:
            raise ValueError("fallback_after must not be shorter than remind_after")
        return self


class QualityConfig(_Strict):
    gold_feedback: bool = False
    gold_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    audit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    audit_channel: str | None = None
    min_pair_overlap: int = Field(default=10, ge=1)
    min_gold_accuracy: float = Field(default=0.8, ge=0.0, le=1.0)

    @field_validator("audit_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        hint = "leave audit_channel out to send each audit to its expert by direct message"
        return None if v is None else _check_channel(v, hint)


class DigestConfig(_Strict):
    channel: str | None = None
    schedule: str = "0 9 * * mon"
    timezone: str = "UTC"

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        hint = "leave digest.channel out to post the digest in the project's channel"
        return None if v is None else _check_channel(v, hint)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name like Europe/Berlin") from None
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError(f"{v!r} is not a five-field crontab line (minute hour day month weekday)")
        return v


class RuleConfig(_Strict):
    label: str
    keywords: list[str] | None = None
    pattern: str | None = None

    @model_validator(mode="after")
    def _one(self) -> RuleConfig:
        if (self.keywords is None) == (self.pattern is None):
            raise ValueError("a rule needs exactly one of keywords or pattern")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regex: {exc}") from None
        return self


#: Mirrors ``bot.learning.strategies.STRATEGIES`` (a test keeps them equal; config stays import-light).
Strategy = Literal[
    "balanced", "uncertainty", "margin", "entropy", "random", "diverse", "dense", "badge", "balanced-diverse"
]


class ModelConfig(_Strict):
    enabled: bool = True
    pipeline: str | None = None
    # Character n-grams beside the words: "auto" while the project is small (bot.learning.pipeline).
    char_ngrams: bool | Literal["auto"] = "auto"
    rules: list[RuleConfig] = Field(default_factory=list)
    retrain_every: int = Field(default=50, ge=1)
    min_labels: int = Field(default=20, ge=2)
    # Active-learning strategy (bot.learning.strategies; default chosen by benchmarks/simulate_savings.py).
    strategy: Strategy = "balanced"
    # Batch-aware strategies reorder only this many of the most uncertain items per ranking.
    rerank_top: int = Field(default=1000, ge=10, le=100_000)
    # Uncertainty x (min(words, 500) / 500) ** length_power: longer texts teach more per label
    # (bot.learning.sampling.length_weight; 0 turns it off).
    length_power: float = Field(default=0.5, ge=0.0, le=2.0)
    explore: float = Field(default=0.1, ge=0.0, le=1.0)
    show_to_annotators: bool = False
    show_to_experts: bool = True
    auto_accept: float | None = Field(default=None, gt=0.0, le=1.0)
    confident: float = Field(default=0.9, gt=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _old_sampling_name(cls, data: Any) -> Any:
        """``sampling`` was this setting's name before batch-aware strategies; still accepted."""
        if isinstance(data, dict) and "sampling" in data:
            if "strategy" in data:
                raise ValueError("give model.strategy only (model.sampling is its old name)")
            data = {("strategy" if key == "sampling" else key): value for key, value in data.items()}
        return data


#: Names people write for a detector, to suggest the right one (still an error: names are exact).
DETECTOR_ALIASES = {
    "creditcard": "card",
    "credit_card": "card",
    "cards": "card",
    "pan": "card",
    "emails": "email",
    "e_mail": "email",
    "mail": "email",
    "phones": "phone",
    "phone_number": "phone",
    "telephone": "phone",
    "ibans": "iban",
    "ssn": "national_id",
    "national_ids": "national_id",
    "ips": "ip",
    "ipv4": "ip",
    "ipv6": "ip",
    "ip_address": "ip",
    "url": "url_secrets",
    "urls": "url_secrets",
    "secrets": "url_secrets",
    "tokens": "url_secrets",
}


class CustomRedaction(_Strict):
    """A project's own pattern: each match is replaced by ``replacement`` before reaching Slack."""

    pattern: str = Field(min_length=1)
    replacement: str = Field(default="[redacted]", max_length=100)

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            compiled = re.compile(v)
        except re.error as exc:
            raise ValueError(f"{v!r} is not a valid regex: {exc}") from None
        if compiled.fullmatch(""):
            raise ValueError(
                f"{v!r} matches the empty text, so it would redact nothing useful; fix the pattern"
            )
        return v


class PrivacyConfig(_Strict):
    """What is redacted from item text before it reaches Slack (``bot.privacy``); off when empty."""

    redact: list[str] = Field(default_factory=list)
    # Where numbers without a +country prefix are read as phone numbers (ISO 3166 codes).
    regions: list[str] = Field(default_factory=lambda: ["US"], min_length=1)
    custom: list[CustomRedaction] = Field(default_factory=list)

    @field_validator("redact")
    @classmethod
    def _detectors(cls, v: list[str]) -> list[str]:
        known = list(DETECTORS)
        for name in v:
            if name not in DETECTORS:
                close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
                alias = DETECTOR_ALIASES.get(str(name).lower().replace("-", "_"))
                guess = alias or (close[0] if close else None)
                hint = f"did you mean `{guess}`? " if guess else ""
                raise ValueError(f"unknown detector {name!r}; {hint}the detectors are: {', '.join(known)}")
        return v

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        upper = [str(r).upper() for r in v]
        bad = [r for r in upper if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad:
            uk = " (the United Kingdom is GB)" if "UK" in bad else ""
            raise ValueError(
                f"{', '.join(map(repr, bad))}: not a region phonenumbers knows; use two-letter ISO 3166 "
                f"codes like US, GB, DE{uk}"
            )
        return upper

    @property
    def active(self) -> bool:
        return bool(self.redact or self.custom)

    def apply(self, text: str) -> str:
        """``text`` with every configured detector's and pattern's matches replaced."""
        if not self.active:
            return text
        custom = tuple(CustomPattern(c.pattern, c.replacement) for c in self.custom)
        return redactor(tuple(self.redact), tuple(self.regions), custom).redact(text)


class ProjectConfig(_Strict):
    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=150)
    channel: str
    labels: list[LabelOption] = Field(min_length=2, max_length=100)
    annotators_per_item: AnnotatorsPerItem = AnnotatorsPerItem(min=3, max=3)
    agreement: float = Field(default=0.66, ge=0.5, le=1.0)
    annotators: list[str] = Field(default_factory=list)
    experts: ExpertsConfig = ExpertsConfig()
    guidelines: str = ""
    fields: list[str] = Field(default_factory=list, max_length=10)
    max_open: int = Field(default=10, ge=1, le=1000)
    # Where items reach annotators: channel messages, personal queues in direct messages, or both.
    delivery: Literal["channel", "dm", "both"] = "both"
    # How long an item given out in a direct message is held for that user (``bot.personal``).
    lease: Duration = timedelta(minutes=15)
    # Who may send a Slack message to this project ("Send to labeling"); empty: annotators and admins.
    submitters: list[str] = Field(default_factory=list)
    # Messages from private channels, DMs and group DMs may become items (they would be shown in
    # the project's channel, to people who could not read them where they were written).
    allow_private_sources: bool = False
    escalation: EscalationConfig = EscalationConfig()
    quality: QualityConfig = QualityConfig()
    digest: DigestConfig = DigestConfig()
    model: ModelConfig = ModelConfig()
    privacy: PrivacyConfig = PrivacyConfig()

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not SLUG.fullmatch(v):
            raise ValueError(f"{v!r} is not a short slug (letters, digits, and _ . : -)")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        return _check_channel(v, "items are posted in a channel where the annotators are")

    @field_validator("annotators", "submitters")
    @classmethod
    def _annotators(cls, v: list[str]) -> list[str]:
        return _check_ids(v)

    @field_validator("lease", mode="before")
    @classmethod
    def _lease(cls, v: Any) -> timedelta:
        lease = parse_duration(v)
        if not timedelta(minutes=1) <= lease <= timedelta(days=7):
            raise ValueError(f"{v!r}: a lease lasts from 1m to 7d")
        return lease

    @field_validator("annotators_per_item", mode="before")
    @classmethod
    def _overlap(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return {"min": v, "max": v}
        return v

    @model_validator(mode="after")
    def _cross(self) -> ProjectConfig:
        values = [label.value for label in self.labels]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"labels: duplicate value(s) {', '.join(dupes)}")
        unknown = sorted(set(self.experts.by_label) - set(values))
        if unknown:
            raise ValueError(f"experts.by_label: {', '.join(unknown)} is not one of the labels {values}")
        for rule in self.model.rules:
            if rule.label not in values:
                raise ValueError(f"model.rules: label {rule.label!r} is not one of the labels {values}")
        self._someone_decides()
        return self

    def _someone_decides(self) -> None:
        """Escalations and audits need people: without them items wait forever, or audits never start."""
        experts = self.experts
        if not (experts.default or experts.by_label or experts.by_field or experts.admins):
            raise ValueError(
                "experts: no one can decide this project's escalations, so escalated items would wait "
                "forever; add experts.default (or experts.by_label / experts.by_field) or experts.admins"
            )
        users = [i for i in (*experts.default, *experts.admins) if not i.startswith("S")]  # S…: a group
        if self.quality.audit_rate > 0 and not users:
            raise ValueError(
                "quality.audit_rate: audits are sent to users in experts.default or experts.admins "
                "(user groups cannot be asked), and there are none; add one, or set audit_rate to 0"
            )

    def label(self, value: str) -> LabelOption | None:
        return next((label for label in self.labels if label.value == value), None)

    @property
    def label_values(self) -> list[str]:
        return [label.value for label in self.labels]


class Config(_Strict):
    projects: list[ProjectConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        keys = [p.key for p in self.projects]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate project key(s): {', '.join(dupes)}")
        shared = self._shared_channels()
        if shared:
            # One message, one line per project, in the style of the per-project messages.
            raise ValueError("\n  - ".join(shared))
        return self

    def _shared_channels(self) -> list[str]:
        """A channel is one project's: messages, threads and the open-item limit are read per channel."""
        first: dict[str, int] = {}
        problems = []
        for index, project in enumerate(self.projects):
            owner = first.setdefault(project.channel, index)
            if owner != index:
                other = self.projects[owner].key
                problems.append(
                    f"project {project.key!r} (projects[{index}]) → channel: {project.channel} is already "
                    f"the channel of project {other!r} (projects[{owner}]); give each project a channel "
                    "of its own"
                )
        return problems

    def project(self, key: str) -> ProjectConfig:
        for project in self.projects:
            if project.key == key:
                return project
        known = ", ".join(p.key for p in self.projects)
        raise ConfigError(f"unknown project {key!r}; the configuration has: {known}")


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """The model whose keys sit at ``loc`` (a pydantic error's location), or None."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """``list[X]``, ``X | None`` and the like down to the model ``X`` they hold (else as given)."""
    origin = typing.get_origin(annotation)
    if origin in (list, dict, typing.Union, types.UnionType, Annotated):
        models = [_inner_model(a) for a in typing.get_args(annotation)]
        found = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
        return found[0] if found else annotation
    return annotation


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


#: pydantic's error types for a scalar of the wrong kind, in plain words.
SCALAR_EXPECTED = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number, like 0.8",
    "float_parsing": "expected a number, like 0.8",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
}


def _plain(error: Any, loc: list[Any]) -> tuple[list[Any], str] | None:
    """A plain-words message for the common mistakes (and the location to name), or None."""
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden" and loc:
        return loc, _unknown_key(str(loc[-1]), _model_at(loc[:-1]))
    if kind == "missing":
        return loc, "this key is required and missing"
    if value is None and kind.endswith("_type"):  # ``key:`` with nothing after it
        return loc, "has no value (nothing after the colon); give it one, or leave the key out"
    if kind == "too_short" and error.get("ctx", {}).get("field_type") == "List":
        context = error["ctx"]
        return loc, f"needs at least {context['min_length']} item(s), has {context['actual_length']}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _mapping_expected(loc, value)
    if kind == "list_type":
        example = f"[{value}]" if isinstance(value, str | int | float) else "[a, b]"
        return loc, f"expected a list, like `{example}` (or one `- item` per line), got {_shown(value)}"
    if kind in SCALAR_EXPECTED:
        return loc, f"{SCALAR_EXPECTED[kind]}, got {_shown(value)}"
    return None


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    known = list(model.model_fields) if model is not None else []
    if not known:
        return "unknown key"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return (
        f"unknown key; did you mean `{close[0]}`?"
        if close
        else f"unknown key; the keys here are: {', '.join(known)}"
    )


def _mapping_expected(loc: list[Any], value: Any) -> tuple[list[Any], str]:
    model = _model_at(loc)
    if model is LabelOption:  # ``labels: [billing, bug]``: one message for the list, not one per label
        where = loc[:-1] if loc and isinstance(loc[-1], int) else loc
        return where, "each label needs a value and a text, like `- {value: billing, text: Billing}`"
    keys = f"one of {', '.join(model.model_fields)}" if model is not None else "a mapping"
    return loc, f"expected keys with values ({keys}), got {_shown(value)}"


def _describe(error: Any, raw: Any) -> str:
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "projects" and isinstance(loc[1], int):
        index = loc[1]
        key = None
        if isinstance(raw, dict) and isinstance(raw.get("projects"), list) and index < len(raw["projects"]):
            entry = raw["projects"][index]
            key = entry.get("key") if isinstance(entry, dict) else None
        where = f"project {key!r} (projects[{index}])" if key else f"projects[{index}]"
    plain = _plain(error, loc)
    message = error["msg"].removeprefix("Value error, ")
    if plain is not None:
        loc, message = plain
    if where:
        loc = loc[2:]
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-", "int", "json")):
            continue
        else:
            path += f".{part}" if path else str(part)
    key = MESSAGE_KEY.match(message) if where and not path else None
    if key:  # a project-wide check names the key at the start of its message
        path, message = key.group(1), message[key.end() :]
    prefix = " → ".join(p for p in (where, path) if p)
    return f"{prefix}: {message}" if prefix else message


def parse_config(raw: Any, source: str = "labelbot.yml") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with a top-level 'projects:' list")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        described = dict.fromkeys(_describe(e, raw) for e in exc.errors(include_url=False))  # once each
        problems = "\n".join(f"  - {line}" for line in described)
        raise ConfigError(f"{source} is invalid:\n{problems}") from None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} not found; set LABELBOT_CONFIG or create it (see README)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_config(raw, str(path))
