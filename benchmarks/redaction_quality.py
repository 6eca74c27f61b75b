"""Benchmark: precision and recall of each redaction detector, and redaction throughput.

Two corpora:

* **generated** with ``faker`` (seeded) in en_US, en_GB, de_DE, fr_FR, es_ES, nl_NL and it_IT:
  documents of the locale's sentences with private values embedded in prose (emails, some with
  plus-addressing or accented local parts; the locale's phone numbers as faker writes them; card
  numbers of every faker brand, some with spaces or dashes; the locale's IBAN, some in groups of
  four; national identifiers: US SSN, ES DNI/NIE, DE IdNr, FR NIR, NL BSN, IT codice fiscale;
  IPv4/IPv6; URLs with user-info or a token) and look-alikes that must stay (dates, prices,
  postcodes, ISBN-13, EAN-13, UUIDs, user agents, versions, order numbers failing Luhn, 9-digit
  references failing the eleven-test);
* **tricky**: the hand-written cases of ``tests/data/privacy/tricky.jsonl``.

Scored by ``bot.privacy.quality``: a gold span is found when nothing of it stays readable; a
predicted span is correct when it overlaps a gold span of its kind. Throughput: items per second
redacting the generated documents (about 250 characters each) and 3,000-character texts, with
every detector on, for one phone region and for seven.

Prints a table and, last, one JSON line. Not a test: run it by hand,
``.venv/bin/python benchmarks/redaction_quality.py [--docs 300] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faker import Faker
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.privacy import DETECTORS, Redactor
from bot.privacy.detectors import Span
from bot.privacy.quality import Case, Score, read_cases, score

ROOT = Path(__file__).resolve().parents[1]
TRICKY = ROOT / "tests" / "data" / "privacy" / "tricky.jsonl"
LOCALES = {
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "fr_FR": "FR",
    "es_ES": "ES",
    "nl_NL": "NL",
    "it_IT": "IT",
}
CARD_TYPES = ["visa16", "visa13", "mastercard", "amex", "discover", "jcb16", "diners", "maestro"]
LEADS = {
    "email": ["mail", "contact:", "reach me at", "from", ""],
    "phone": ["call", "tel.", "phone:", "ring me on", ""],
    "card": ["card", "paid with", "card number", ""],
    "iban": ["IBAN", "account", "refund to", ""],
    "national_id": ["ID", "my number is", "ref.", ""],
    "ip": ["from", "host", "IP", ""],
    "url_secrets": ["see", "link:", "GET", ""],
}
ACCENTED = "áàâäãåçéèêëíìîïñóòôöõúùûüýÿß"


def _group(value: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


class Generator:
    """Private values and look-alikes for one locale, from one seeded Faker."""

    def __init__(self, locale: str, seed: int) -> None:
        self.locale = locale
        self.fake = Faker(locale)
        self.fake.seed_instance(seed)
        self.rng = random.Random(seed)

    def email(self) -> str:
        f, r = self.fake, self.rng
        kind = r.random()
        if kind < 0.2:
            user, domain = f.email().split("@")
            return f"{user}+{f.word()}@{domain}"
        if kind < 0.35:
            name = f.first_name().lower() + r.choice(ACCENTED) + f.last_name().lower()
            return f"{name.replace(' ', '')}@{f.free_email_domain()}"
        return f.email()

    def phone(self) -> str:
        return self.fake.phone_number()

    def card(self) -> str:
        number = self.fake.credit_card_number(card_type=self.rng.choice(CARD_TYPES))
        style = self.rng.random()
        if style < 0.3:
            return _group(number)
        if style < 0.45:
            return _group(number, sep="-")
        return number

    def iban(self) -> str:
        value = self.fake.iban()
        return _group(value) if self.rng.random() < 0.5 else value

    def national_id(self) -> str | None:
        f, r = self.fake, self.rng
        if self.locale == "en_US":
            return f.ssn()
        if self.locale == "es_ES":
            return f.nif() if r.random() < 0.5 else f.nie()
        if self.locale in ("fr_FR", "nl_NL", "it_IT"):
            return f.ssn()
        if self.locale == "de_DE":
            while True:  # the IdNr's digit-repetition rule, then its check digit: sample until valid
                digits = str(r.randint(1, 9)) + "".join(str(r.randint(0, 9)) for _ in range(9))
                number = digits + mod_11_10.calc_check_digit(digits)
                if idnr.is_valid(number):
                    return (
                        number
                        if r.random() < 0.5
                        else f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"
                    )
        return None

    def ip(self) -> str:
        f, r = self.fake, self.rng
        return f.ipv6() if r.random() < 0.3 else (f.ipv4_private() if r.random() < 0.5 else f.ipv4_public())

    def url_secret(self) -> tuple[str, str]:
        """A URL and its secret part."""
        f, r = self.fake, self.rng
        host = f.domain_name()
        if r.random() < 0.4:
            secret = f"{f.user_name()}:{f.password(special_chars=False)}"
            return f"https://{secret}@{host}/{f.uri_path()}", secret
        key = r.choice(["token", "access_token", "api_key", "sig", "X-Amz-Signature", "client_secret"])
        secret = f.sha1()[: r.randint(16, 40)]
        return f"https://{host}/{f.uri_path()}?page={r.randint(1, 9)}&{key}={secret}", secret

    def negative(self) -> str:
        f, r = self.fake, self.rng
        options: list[Callable[[], str]] = [
            lambda: f.date(),
            lambda: f.date(pattern="%d.%m.%Y"),
            lambda: f.pricetag(),
            lambda: f.postcode(),
            lambda: f.isbn13(),
            lambda: f.ean13(),
            lambda: str(f.uuid4()),
            lambda: f.user_agent(),
            lambda: f"version {r.randint(1, 20)}.{r.randint(0, 20)}.{r.randint(0, 99)}.{r.randint(0, 999)}",
            lambda: f"v{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}",
            lambda: _luhn_invalid(r),
            lambda: f"ref {_eleven_invalid(r)}",
            lambda: f"order #{r.randint(10_000, 99_999_999)}",
            lambda: f"{r.randint(1, 99)}:{r.randint(10, 59)}",
            lambda: f.street_address(),
            lambda: f"https://{f.domain_name()}/{f.uri_path()}?q={f.word()}&page={r.randint(1, 9)}",
        ]
        return r.choice(options)()

    def document(self, index: int) -> Case:
        f, r = self.fake, self.rng
        parts: list[str] = [f.sentence()]
        spans: list[Span] = []
        makers: list[tuple[str, Callable[[], Any]]] = [
            ("email", self.email),
            ("phone", self.phone),
            ("card", self.card),
            ("iban", self.iban),
            ("national_id", self.national_id),
            ("ip", self.ip),
            ("url_secrets", self.url_secret),
        ]
        for _ in range(r.randint(1, 3)):
            kind, make = r.choice(makers)
            made = make()
            if made is None:
                continue
            value, secret = made if isinstance(made, tuple) else (made, made)
            lead = r.choice(LEADS[kind])
            prefix = " ".join(parts) + " " + (lead + " " if lead else "")
            start = len(prefix) + value.index(secret)
            spans.append(Span(start, start + len(secret), kind, ""))
            parts = [prefix + value + r.choice([".", ",", "", " -", ";"]), f.sentence()]
        for _ in range(r.randint(1, 2)):
            parts += [self.negative() + r.choice([".", ",", ""]), f.sentence()]
        return Case(f"{self.locale}-{index}", " ".join(parts), tuple(spans))


def _luhn_invalid(r: random.Random) -> str:
    from stdnum import luhn

    while True:
        number = "".join(str(r.randint(0, 9)) for _ in range(r.choice([13, 15, 16, 19])))
        if number[0] != "0" and not luhn.is_valid(number):
            return number if r.random() < 0.5 else _group(number)


def _eleven_invalid(r: random.Random) -> str:
    from stdnum.nl import bsn

    while True:
        number = str(r.randint(100_000_000, 999_999_999))
        if not bsn.is_valid(number):
            return number


def generated_corpus(docs: int, seed: int) -> list[Case]:
    cases = []
    for n, locale in enumerate(LOCALES):
        generator = Generator(locale, seed * 100 + n)
        cases += [generator.document(i) for i in range(docs)]
    return cases


def table(title: str, scores: dict[str, Score]) -> list[str]:
    def pct(value: float | None) -> str:
        return "  n/a" if value is None else f"{value:5.3f}"

    lines = [title, f"{'detector':<12} {'gold':>5} {'found':>5} {'pred':>5} {'precision':>9} {'recall':>7}"]
    for kind, s in scores.items():
        lines.append(
            f"{kind:<12} {s.gold:>5} {s.found:>5} {s.predicted:>5} {pct(s.precision):>9} {pct(s.recall):>7}"
        )
    return lines


def throughput(redactor: Redactor, texts: list[str], seconds: float = 2.0) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            redactor.redact(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="documents per locale")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", type=int, default=5, help="misses and false positives shown per kind")
    args = parser.parse_args()

    regions = list(LOCALES.values())
    redactor = Redactor(list(DETECTORS), regions)
    corpus = generated_corpus(args.docs, args.seed)
    tricky = read_cases(TRICKY)
    generated_scores = score(redactor, corpus)
    tricky_scores = score(redactor, tricky)
    lines = [
        f"redaction quality · python {platform.python_version()} · {platform.machine()} · regions {','.join(regions)}",
        "",
        *table(
            f"generated corpus (faker, {len(LOCALES)} locales x {args.docs} docs, seed {args.seed})",
            generated_scores,
        ),
        "",
        *table(f"tricky cases ({len(tricky)} hand-written, {TRICKY.relative_to(ROOT)})", tricky_scores),
        "",
    ]
    for name, scores in (("generated", generated_scores), ("tricky", tricky_scores)):
        for kind, s in scores.items():
            for what, examples in (("missed", s.misses), ("false positive", s.false_positives)):
                for example in examples[: args.examples]:
                    lines.append(f"  {name} {kind} {what}: {example}")
    texts = [c.text for c in corpus[:: max(1, len(corpus) // 400)]]
    long_texts = [" ".join(texts[i : i + 12])[:3000] for i in range(0, min(len(texts), 240), 12)]
    speed = {
        "docs_all_detectors_7_regions": throughput(Redactor(list(DETECTORS), regions, cache=False), texts),
        "docs_all_detectors_1_region": throughput(Redactor(list(DETECTORS), ["US"], cache=False), texts),
        "docs_without_phone": throughput(
            Redactor([d for d in DETECTORS if d != "phone"], cache=False), texts
        ),
        "long_3000_chars_7_regions": throughput(Redactor(list(DETECTORS), regions, cache=False), long_texts),
        "long_3000_chars_1_region": throughput(Redactor(list(DETECTORS), ["US"], cache=False), long_texts),
        "repeated_text_cached": throughput(redactor, texts[:1]),
    }
    lines += [
        "",
        f"throughput (items/s, one core, uncached unless said; docs ~{sum(map(len, texts)) // len(texts)} chars)",
    ]
    lines += [f"  {name:<32} {value:10.0f}" for name, value in speed.items()]
    print("\n".join(lines))
    summary = {
        "generated": {
            k: {"precision": s.precision, "recall": s.recall, "gold": s.gold}
            for k, s in generated_scores.items()
        },
        "tricky": {
            k: {"precision": s.precision, "recall": s.recall, "gold": s.gold}
            for k, s in tricky_scores.items()
        },
        "items_per_second": {k: round(v) for k, v in speed.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
