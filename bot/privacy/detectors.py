"""The built-in detectors: each finds candidate spans with a regex and keeps only valid ones.

A candidate counts only when it validates (Luhn, ISO 7064, a country's checksum,
``ipaddress``, ``phonenumbers``): a number that merely looks like a card is not one.
Every detector is a pure function ``text -> spans``; ``Redactor`` combines them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from stdnum import ean, luhn
from stdnum import iban as stdnum_iban
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

__all__ = [
    "DETECTORS",
    "REPLACEMENTS",
    "Span",
    "cards",
    "emails",
    "ibans",
    "ips",
    "national_ids",
    "phones",
    "url_secrets",
]


@dataclass(frozen=True, order=True)
class Span:
    """``text[start:end]`` is private; ``replacement`` takes its place."""

    start: int
    end: int
    kind: str
    replacement: str

    def __len__(self) -> int:
        return self.end - self.start


#: What a span of each built-in kind becomes.
REPLACEMENTS = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card]",
    "iban": "[iban]",
    "national_id": "[id]",
    "ip": "[ip]",
    "url_secrets": "[secret]",
}


def _span(match: re.Match[str] | tuple[int, int], kind: str, group: int = 0) -> Span:
    start, end = match.span(group) if isinstance(match, re.Match) else match
    return Span(start, end, kind, REPLACEMENTS[kind])


# -- email -----------------------------------------------------------------------------------------
# Local part: Unicode letters and digits (RFC 6531), ``+`` (plus-addressing), ``%``, ``-``, ``_`` and
# inner dots; RFC 5322 allows more (``/ = ? ' {``), which in prose are mostly URL or quote marks.
# Domain: labels of Unicode letters, digits and hyphens (IDNs as typed, or punycode), then a TLD.
_LOCAL = r"[\w+%-]+(?:\.[\w+%-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
EMAIL = re.compile(
    rf"(?<![\w+%.-])({_LOCAL})@((?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{2,59}}))(?![\w-]|\.[^\W_])",
    re.IGNORECASE,
)


# "report@2x.png" is a file name; these endings are file types, not top-level domains.
FILE_ENDINGS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "pdf", "txt", "csv", "json", "html"}
)
_USERINFO_BEFORE = re.compile(r"://[^\s/@]*$")


def emails(text: str) -> Iterator[Span]:
    """Addresses with plus-addressing, Unicode local parts and internationalised domains.

    ``user:pass@host`` in a URL is user-info (``url_secrets``), not an address.
    """
    if "@" not in text:
        return
    for match in EMAIL.finditer(text):
        if match.group(2).rsplit(".", 1)[-1].lower() in FILE_ENDINGS:
            continue
        if _USERINFO_BEFORE.search(text, max(0, match.start() - 200), match.end(1)):
            continue
        yield _span(match, "email")


# -- phone -----------------------------------------------------------------------------------------
# Where a number may be: phonenumbers' matcher is run on these stretches only (with a little context
# on each side), not on the whole text once per region: prose between numbers costs nothing.
_EXT = r"\s*(?:x|ext\.?|extension|#)\s*\d{1,6}\b"
PHONE_CANDIDATE = re.compile(rf"[+(]?\d[\d\s().\-/]{{4,}}\d(?:{_EXT})?", re.IGNORECASE)
PHONE_CONTEXT = 3
EXTENSION = re.compile(_EXT, re.IGNORECASE)


# A run of digits longer than this is read in overlapping pieces: a phone number is at most about
# 30 characters, and phonenumbers on a 10,000-character run costs seconds (an item is not a DoS).
PHONE_WINDOW_MAX = 120
PHONE_WINDOW_STEP = 80


def _phone_windows(text: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for match in PHONE_CANDIDATE.finditer(text):
        start, end = max(0, match.start() - PHONE_CONTEXT), min(len(text), match.end() + PHONE_CONTEXT)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    pieces = []
    for start, end in windows:
        while end - start > PHONE_WINDOW_MAX:
            pieces.append((start, start + PHONE_WINDOW_MAX))
            start += PHONE_WINDOW_STEP
        pieces.append((start, end))
    return pieces


def phones(text: str, regions: Sequence[str]) -> Iterator[Span]:
    """Numbers ``phonenumbers`` finds valid for one of ``regions`` (``+`` numbers: any country).

    ``Leniency.STRICT_GROUPING``: the number exists in the numbering plan (``VALID``) and its digits
    are grouped as that country writes them, which keeps dates like 02.06.2003 out.
    """
    seen: set[tuple[int, int]] = set()
    for start, end in _phone_windows(text):
        window = text[start:end]
        for region in regions:
            matcher = phonenumbers.PhoneNumberMatcher(
                window, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
            )
            for match in matcher:
                where = (start + match.start, start + match.end)
                extension = EXTENSION.match(text, where[1])  # "555-0182 x27": the extension too
                if extension:
                    where = (where[0], extension.end())
                if where not in seen:
                    seen.add(where)
                    yield _span(where, "phone")


# -- payment card ----------------------------------------------------------------------------------
# Runs of digit groups joined by one space or dash; a card is a window of whole groups (see
# ``cards``) holding 13 to 19 digits that passes Luhn, with two refinements measured on
# benchmarks/redaction_quality.py: 12 digits count for Maestro's prefixes (Maestro issues 12-digit
# cards), and a 13-digit EAN-13/ISBN-13 is a product code unless it starts with 4 (Visa's 13-digit
# cards do).
MAESTRO_12 = ("50", "56", "57", "58", "6")
DIGIT_RUN = re.compile(r"(?<![\w.,:])\d+(?:[ -]\d+)*(?![\w]|[.,]\d)")
_GROUP = re.compile(r"\d+")


def cards(text: str) -> Iterator[Span]:
    """Payment card numbers: 13–19 digits, spaces or dashes between groups, Luhn-valid.

    Candidates in a run of digit groups: the whole run if no group is shorter than 3 digits; each
    group of 12+ digits; and every window of whole groups grouped the way cards are printed
    (``CARD_GROUPING``), so "5 4111 1111 1111 1111" still finds the card while an order number's
    last 16 digits, grouped otherwise, are left alone.
    Every valid candidate is returned, overlapping or not: ``Redactor`` resolves overlaps once.
    """
    for run in DIGIT_RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        windows = {g for g in groups if g[1] - g[0] >= 12}
        if min(e - s for s, e in groups) >= 3:  # "4111 11111111 1111"; not "1 2024-05-06 1426"
            windows.add((groups[0][0], groups[-1][1]))
        for i in range(len(groups)):
            digits = 0
            for j in range(i, len(groups)):
                digits += groups[j][1] - groups[j][0]
                if digits > 19:
                    break
                if digits >= 13 and _card_grouped([e - s for s, e in groups[i : j + 1]]):
                    windows.add((groups[i][0], groups[j][1]))
        for start, end in sorted(windows):
            if is_card(re.sub(r"\D", "", text[start:end])):
                yield _span((start, end), "card")


# How cards are printed: fours (the last group may be shorter, as in 4-4-4-4-3), or 4-6-5 / 4-6-4.
CARD_GROUPING = re.compile(r"(?:4,)+[1-4]|4,6,[45]")


def _card_grouped(sizes: list[int]) -> bool:
    return len(sizes) == 1 or bool(CARD_GROUPING.fullmatch(",".join(map(str, sizes))))


def is_card(digits: str) -> bool:
    """Luhn-valid, 13 to 19 digits (12 for Maestro), not an EAN-13 product code (see ``MAESTRO_12``)."""
    if not 12 <= len(digits) <= 19:
        return False
    if len(digits) == 12 and not digits.startswith(MAESTRO_12):
        return False
    if len(digits) == 13 and not digits.startswith("4") and ean.is_valid(digits):
        return False
    return luhn.is_valid(digits)


# -- IBAN ------------------------------------------------------------------------------------------
IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w])", re.IGNORECASE)


def ibans(text: str) -> Iterator[Span]:
    """IBANs, compact or in groups of four, validated by ``stdnum.iban`` (mod 97 and the country's format).

    The regex may run into the next word ("… 00 EUR"): the candidate is shortened a group at a
    time until it validates.
    """
    at = 0
    while (match := IBAN.search(text, at)) is not None:
        start, end = match.span()
        at = start + 1  # none found here: one may start inside this match ("XX12 DE89 …")
        while end - start >= 15:
            candidate = text[start:end]
            if stdnum_iban.is_valid(candidate.upper()):
                yield _span((start, end), "iban")
                at = end  # the rest of the match may be the next IBAN
                break
            cut = candidate.rfind(" ")
            if cut == -1:
                break
            end = start + cut
            while text[end - 1] == " ":
                end -= 1


# -- national identifiers --------------------------------------------------------------------------
@dataclass(frozen=True)
class NationalId:
    """One country's identifier: how it is written, and its validator from ``python-stdnum``."""

    name: str
    pattern: re.Pattern[str]
    is_valid: Callable[[str], bool]


def _bounded(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.-])(?:{pattern})(?![\w]|[.-]\w)", flags)


NATIONAL_IDS = (
    # US Social Security number, written with dashes or spaces (a bare nine-digit run is too often
    # something else): area not 000, 666 or 9xx, group not 00, serial not 0000 (stdnum.us.ssn).
    NationalId("US SSN", _bounded(r"\d{3}([- ])\d{2}\1\d{4}"), ssn.is_valid),
    # Spanish DNI (8 digits and a check letter) and NIE (X/Y/Z, 7 digits, check letter).
    NationalId("ES DNI", _bounded(r"\d{8}-?[A-Z]", re.IGNORECASE), dni.is_valid),
    NationalId("ES NIE", _bounded(r"[XYZ]-?\d{7}-?[A-Z]", re.IGNORECASE), nie.is_valid),
    # German tax identification number (Steuer-IdNr): 11 digits, ISO 7064 mod 11,10 check digit.
    NationalId("DE IdNr", _bounded(r"\d{2} ?\d{3} ?\d{3} ?\d{3}"), idnr.is_valid),
    # French social security number (NIR): 13 characters (Corsica: 2A/2B) and a two-digit key.
    NationalId(
        "FR NIR",
        _bounded(r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}", re.IGNORECASE),
        nir.is_valid,
    ),
    # Dutch citizen service number (BSN): 9 digits (or 4.2.3 with dots), the eleven-test.
    NationalId("NL BSN", _bounded(r"\d{9}|\d{4}\.\d{2}\.\d{3}"), bsn.is_valid),
    # Italian tax code (codice fiscale): 16 letters and digits with a check letter.
    NationalId(
        "IT codice fiscale",
        _bounded(
            r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]", re.IGNORECASE
        ),
        codicefiscale.is_valid,
    ),
)


def national_ids(text: str) -> Iterator[Span]:
    """Identifiers of ``NATIONAL_IDS``, each only when its checksum (or format rules) validate."""
    for national in NATIONAL_IDS:
        for match in national.pattern.finditer(text):
            if national.is_valid(match.group().upper()):
                yield _span(match, "national_id")


# -- IP addresses ----------------------------------------------------------------------------------
# A dotted quad right after a version word ("version 1.2.3.4", "v1.2.3.4", "release 10.0.0.1") is
# a version, not an address: it is left alone. So is one inside a longer dotted run (1.2.3.4.5).
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
VERSION_BEFORE = re.compile(
    r"(?:\b(?:v|rv|ver|version|versions|release|released|releases|build|firmware|fw|rev|revision|update|"
    r"updated|upgrade|upgraded)[ .:=]*"
    r"|\bv)$",
    re.IGNORECASE,
)
# One bounded character class (an address has at most 45 characters), so a long run of colons
# costs linear time, not the cubic backtracking of ``[…]*:[…]*:[…]*``.
IPV6 = re.compile(r"(?<![\w:.])[0-9A-F:.]{2,45}(?:%[\w.]{1,30})?(?![\w:.%])", re.IGNORECASE)


def ips(text: str) -> Iterator[Span]:
    """IPv4 and IPv6 addresses that ``ipaddress`` accepts (not versions; see ``VERSION_BEFORE``)."""
    if "." in text:
        for match in IPV4.finditer(text):
            if VERSION_BEFORE.search(text[max(0, match.start() - 20) : match.start()]):
                continue
            try:
                ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            yield _span(match, "ip")
    if "::" in text or text.count(":") >= 7:
        for match in IPV6.finditer(text):
            candidate = match.group().rstrip(".")
            if candidate.count(":") < 2 or not any(c.isdigit() for c in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield _span((match.start(), match.start() + len(candidate)), "ip")


# -- URLs with credentials or tokens ---------------------------------------------------------------
URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
# Query and fragment keys whose value is a secret (compared lower-case, ``-`` read as ``_``).
SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "auth_token",
        "api_key",
        "apikey",
        "key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "sig",
        "signature",
        "code",
        "session",
        "sessionid",
        "session_id",
        "jsessionid",
        "sid",
        "jwt",
        "private_token",
        "x_amz_signature",
        "x_amz_credential",
        "x_amz_security_token",
        "x_goog_signature",
        "x_goog_credential",
    }
)
_SECRET_SUFFIXES = ("token", "secret", "signature", "password", "_key", "apikey")
_PIECE = re.compile(r"[^&;#?]+")


def is_secret_key(key: str) -> bool:
    name = key.strip().lower().replace("-", "_")
    return name in SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


def url_secrets(text: str) -> Iterator[Span]:
    """A URL's user-info (``user:pass@``, or a token as user) and secret query/fragment values.

    Only the secret part is replaced, so the link stays readable (``https://[credentials]@host/``);
    ``emails`` leaves an address-like ``pass@host`` inside a URL's authority to this detector.
    """
    if "://" not in text:
        return
    for match in URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        base = match.start()
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        scheme_end = url.find("://") + 3
        authority_end = scheme_end + len(parts.netloc)
        at = url.rfind("@", scheme_end, authority_end)
        if at != -1:
            yield Span(base + scheme_end, base + at, "url_secrets", "[credentials]")
        query = min(
            (i for i in (url.find("?", authority_end), url.find("#", authority_end)) if i != -1), default=-1
        )
        if query == -1:
            continue
        for piece in _PIECE.finditer(url, query):  # key=value pairs of the query and the fragment
            key, equals, value = piece.group().partition("=")
            if equals and value and is_secret_key(key):
                start = base + piece.start() + len(key) + 1
                yield Span(start, start + len(value), "url_secrets", REPLACEMENTS["url_secrets"])


#: The detectors ``privacy.redact`` may name, in the order a tie between equal spans is decided.
# The most specific validation first: a national identifier's checksum says more than Luhn's one
# digit (a French NIR is often Luhn-valid too).
DETECTORS: dict[str, Callable[[str, Sequence[str]], Iterator[Span]]] = {
    "url_secrets": lambda text, regions: url_secrets(text),
    "iban": lambda text, regions: ibans(text),
    "national_id": lambda text, regions: national_ids(text),
    "card": lambda text, regions: cards(text),
    "email": lambda text, regions: emails(text),
    "ip": lambda text, regions: ips(text),
    "phone": phones,
}
