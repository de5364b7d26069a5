"""Find and redact personal data in user text: ID numbers, bank cards, phones, e-mail, codes.

What it does
- `find_pii(text)` returns non-overlapping `PiiSpan`s, in text order, of five kinds:
  - `id_card`: 18-character PRC resident ID (GB 11643): valid date of birth (1900..today),
    valid ISO 7064 MOD 11-2 check character (digit or X);
  - `bank_card`: 13-19 digits, optionally grouped by single spaces or dashes, Luhn-valid;
  - `phone`: mainland mobiles `1[3-9]` + 9 digits (optional +86/86), landlines with an
    area code (`010-12345678`, `(0755) 1234 5678`), and `+<country code>` numbers;
  - `email`: ordinary `local@domain.tld` addresses;
  - `code`: a 4-8 digit number within a few characters of 验证码/校验码/动态码/code/OTP/
    PIN/passcode (before or after the word).
- `redact(text)` replaces each span with a language-neutral placeholder:
  `[ID]`, `[CARD]`, `[PHONE]`, `[EMAIL]`, `[CODE]` (see `PLACEHOLDERS`).
- Public service numbers are never personal data: the numbers and addresses in
  `knowledge/hotlines.yaml` (read lazily, once, by `public_contacts`) and 400/800 service lines are skipped.

What it does not do
- No names, street addresses, passport numbers or account user names.
- Near misses stay: order numbers that fail Luhn, dates, years, amounts (`¥60,000`,
  `6万元`, `$2,000`), short codes (`110`, `96110`, `12378`).
- A digit run glued to other digits is not split apart to look for data in it (letters next
  to a number do not hide it: `ID11010519491231002X` is still an ID).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from bot.config import ROOT

HOTLINES_PATH = ROOT / "knowledge" / "hotlines.yaml"

PLACEHOLDERS: dict[str, str] = {
    "id_card": "[ID]",
    "bank_card": "[CARD]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "code": "[CODE]",
}


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: its kind, [start, end) offsets and the matched text."""

    kind: str
    start: int
    end: int
    text: str


_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ID = re.compile(r"(?<![0-9])(\d{6})[ ]?(\d{8})[ ]?(\d{3}[0-9Xx])(?![0-9])")
# Digit groups joined by single spaces or dashes; candidates for cards and phones.
_DIGIT_RUN = re.compile(r"(?<![0-9])(?<!\d[.,])\+?\d+(?:[ -]\d+)*(?![0-9])")
_AREA = r"0(?:10|2\d|[3-9]\d\d)"
_LANDLINE = re.compile(
    rf"(?<![0-9A-Za-z])(?:\({_AREA}\)|{_AREA})[ -]?\d{{3,4}}[ -]?\d{{4}}(?![0-9A-Za-z])"
)
_INTL = re.compile(r"(?<![0-9A-Za-z])\+\d{1,3}(?:[ -]?\(?\d{1,4}\)?){2,5}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9])")
_CODE_WORD = (
    r"(?:验证码|校验码|动态码|动态密码|短信码|确认码|verification code|security code|"
    r"one[- ]time (?:pass)?code|passcode|\bOTP\b|\bPIN\b|"
    r"(?<!zip )(?<!postal )(?<!area )(?<!country )(?<!error )(?<!promo )(?<!tracking )\bcode\b)"
)
# A code is a bare 4-8 digit number: not part of an amount, a decimal, a date or a quantity.
_CODE_NUM = (
    r"(?<![0-9A-Za-z¥￥$£€])(?<!\d[.,])(\d{4,8})(?![0-9A-Za-z]|[.,]\d)"
    r"(?![ ]?(?:年|月|日|号|元|万|千|块|美元|英镑|%|个|次|位|秒|分钟|小时|天|yuan|dollars|pounds))"
)
_CODE_AFTER = re.compile(_CODE_WORD + r"[^0-9\n]{0,8}?" + _CODE_NUM, re.IGNORECASE)
_CODE_BEFORE = re.compile(_CODE_NUM + r"[^0-9\n]{0,6}?" + _CODE_WORD, re.IGNORECASE)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_checksum_ok(number: str) -> bool:
    """True when an 18-character ID number has a valid GB 11643 check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def id_birth_ok(number: str) -> bool:
    """True when digits 7-14 of an ID number are a real date between 1900 and today."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phone_key(text: str) -> str:
    """Digits of a phone number with a leading +86/+44/+1 country code folded away."""
    digits = _digits(text)
    if text.lstrip().startswith("+"):
        for cc, trunk in (("86", ""), ("44", "0"), ("1", "")):
            if digits.startswith(cc):
                return trunk + digits[len(cc) :]
    return digits


@lru_cache(maxsize=4)
def public_contacts(path: Path = HOTLINES_PATH) -> frozenset[str]:
    """Phone keys of every number and lower-cased address in hotlines.yaml.

    Empty when the file is missing, so detection then errs towards redacting.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError:
        return frozenset()
    keys: set[str] = set()
    for entry in data.get("entries", []):
        if entry.get("number"):
            keys.add(phone_key(str(entry["number"])))
        if entry.get("address"):
            keys.add(str(entry["address"]).lower())
    return frozenset(keys)


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    """Luhn-valid 13-19 digit cards.

    In a run of digit groups (`6222 0212 3456 7890 123`), every contiguous window of whole
    groups with 13-19 digits is tried; overlapping valid windows merge into one span, so a
    card is covered even when a neighbouring number is written right next to it.
    """
    for run in _DIGIT_RUN.finditer(text):
        if run.group().startswith("+"):
            # An international phone number is left to _phone_spans; any other run after a
            # '+' (e.g. "+6222 0212 3456 7890 123", 16+ digits) is still checked for cards.
            phone = _INTL.match(text, run.start())
            if phone and phone.end() >= run.end() and 8 <= len(_digits(phone.group())) <= 15:
                continue
        groups = [
            (run.start() + g.start(), run.start() + g.end())
            for g in re.finditer(r"\d+", run.group())
        ]
        valid: list[tuple[int, int]] = []
        for i in range(len(groups)):
            for j in range(i, len(groups)):
                digits = _digits(text[groups[i][0] : groups[j][1]])
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and digits[0] != "0" and luhn_ok(digits):
                    valid.append((groups[i][0], groups[j][1]))
        yield from _merge(valid)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _phone_spans(text: str, public: Collection[str]) -> Iterator[tuple[int, int]]:
    for pattern in (_MOBILE, _INTL, _LANDLINE):
        for m in pattern.finditer(text):
            key = phone_key(m.group())
            if key in public or re.fullmatch(r"[48]00\d{7}", key):
                continue
            if pattern is _INTL and not 8 <= len(_digits(m.group())) <= 15:
                continue
            yield m.start(), m.end()


def _code_spans(text: str, public: Collection[str]) -> Iterator[tuple[int, int]]:
    for pattern in (_CODE_AFTER, _CODE_BEFORE):
        for m in pattern.finditer(text):
            if m.group(1) in public or re.fullmatch(r"(19|20)\d\d", m.group(1)):
                continue
            yield m.start(1), m.end(1)


def find_pii(text: str, public: Collection[str] | None = None) -> list[PiiSpan]:
    """All personal-data spans in `text`, non-overlapping, sorted by start offset.

    `public` holds phone keys (digits only) and lower-cased e-mail addresses never to report
    (default: `public_contacts()`, i.e. knowledge/hotlines.yaml).
    On overlap the earlier kind wins, in the order email, ID, card, phone, code.
    """
    if public is None:
        public = public_contacts()
    candidates: list[tuple[str, int, int]] = [
        ("email", m.start(), m.end())
        for m in _EMAIL.finditer(text)
        if m.group().lower() not in public
    ]
    for m in _ID.finditer(text):
        number = "".join(m.groups())
        if id_checksum_ok(number) and id_birth_ok(number):
            candidates.append(("id_card", m.start(), m.end()))
    candidates += [("bank_card", s, e) for s, e in _card_spans(text)]
    candidates += [("phone", s, e) for s, e in _phone_spans(text, public)]
    candidates += [("code", s, e) for s, e in _code_spans(text, public)]
    taken: list[PiiSpan] = []
    for kind, start, end in candidates:
        if all(end <= t.start or start >= t.end for t in taken):
            taken.append(PiiSpan(kind, start, end, text[start:end]))
    return sorted(taken, key=lambda s: s.start)


def redact(text: str, public: Collection[str] | None = None) -> str:
    """`text` with every `find_pii` span replaced by its placeholder (see `PLACEHOLDERS`)."""
    return redact_slice(text, 0, len(text), find_pii(text, public))


def redact_slice(text: str, start: int, end: int, spans: list[PiiSpan]) -> str:
    """`text[start:end]` with any part of it inside one of `spans` (from `find_pii(text)`)
    replaced by that span's placeholder: a quote cut from a message never carries its data."""
    out: list[str] = []
    pos = start
    for span in spans:
        if span.end <= start or span.start >= end:
            continue
        out.append(text[pos : max(span.start, pos)])
        out.append(PLACEHOLDERS[span.kind])
        pos = min(span.end, end)
    out.append(text[pos:end])
    return "".join(out)


def contains_pii(text: str, public: Collection[str] | None = None) -> bool:
    """True when `find_pii` finds anything."""
    return bool(find_pii(text, public))
