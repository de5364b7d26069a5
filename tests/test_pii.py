"""PII detection and redaction: true positives, near misses, and properties of `redact`."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.safety.pii import PLACEHOLDERS, PiiSpan, contains_pii, find_pii, redact

ROOT = Path(__file__).resolve().parent.parent
PII_ROWS = [
    json.loads(line)
    for line in (ROOT / "eval" / "datasets" / "pii.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]

# Independent generators (they do not use bot.safety.pii's own checks).
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(area: str, birth: str, seq: int) -> str:
    body = f"{area}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def make_card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def bad_card(card: str) -> str:
    return card[:-1] + str((int(card[-1]) + 3) % 10)


def grouped(number: str, sep: str = " ") -> str:
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in find_pii(text)]


@pytest.mark.parametrize("row", PII_ROWS, ids=[r["id"] for r in PII_ROWS])
def test_dataset_rows(row: dict) -> None:
    expected = sorted((s["kind"], s["text"]) for s in row["spans"])
    assert sorted(kinds(row["text"])) == expected
    cleaned = redact(row["text"])
    for span in row["spans"]:
        assert span["text"] not in cleaned
        assert PLACEHOLDERS[span["kind"]] in cleaned


def test_dataset_has_enough_rows_and_near_misses() -> None:
    assert len(PII_ROWS) >= 40
    assert sum(1 for r in PII_ROWS if not r["spans"]) >= 10
    assert {s["kind"] for r in PII_ROWS for s in r["spans"]} == set(PLACEHOLDERS)


def test_generated_ids_and_their_near_misses() -> None:
    good = make_id("440305", "19930228", 47)
    assert kinds(f"身份证{good}") == [("id_card", good)]
    x_id = next(
        make_id("330106", "19880315", s)
        for s in range(999)
        if make_id("330106", "19880315", s).endswith("X")
    )
    assert kinds(f"证件号：{x_id.lower()}。") == [("id_card", x_id.lower())]
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert find_pii(f"身份证{wrong_check}") == []
    bad_date = make_id("440305", "19930230", 47)  # 30 February
    future = make_id("440305", "20990101", 47)
    assert all(s.kind != "id_card" for s in find_pii(f"号码{bad_date}"))
    assert all(s.kind != "id_card" for s in find_pii(f"号码{future}"))


def test_generated_cards_and_order_numbers() -> None:
    rng = random.Random(7)
    for prefix, length in (
        ("622202", 19),
        ("6228", 16),
        ("4", 16),
        ("5", 16),
        ("37", 15),
        ("6", 13),
    ):
        card = make_card(rng, prefix, length)
        assert kinds(f"卡号{card}") == [("bank_card", card)]
        assert kinds(f"card {grouped(card)} pls") == [("bank_card", grouped(card))]
        assert kinds(f"卡号{grouped(card, '-')}") == [("bank_card", grouped(card, "-"))]
        assert all(s.kind != "bank_card" for s in find_pii(f"订单号{bad_card(card)}"))


@pytest.mark.parametrize(
    "text",
    [
        "我2024-05-01转了¥60,000，6月又转了6万元",
        "I sent $2,000 on 03/14/2024, then $1,500.00",
        "拨打110、96110、12378、12381，或者400-810-8866、010-12321",
        "Report Fraud 0300 123 2040, text 7726, call 159 or 101",
        "e-mail report@phishing.gov.uk or visit reportfraud.ftc.gov",
        "2019年到2025年，年利率24%，最高3年，罚款20万元",
        "验证码有效期5分钟，转账5000元以上要人脸识别",
        "zip code 10001, flight BA2490 at 13:45",
        "合同编号HT20240518003，第287条之二",
    ],
)
def test_near_misses_are_left_alone(text: str) -> None:
    assert find_pii(text) == []
    assert redact(text) == text
    assert not contains_pii(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机13800138000", [("phone", "13800138000")]),
        ("打我电话 +86 138-0013-8000 就行", [("phone", "+86 138-0013-8000")]),
        ("座机010-87654321", [("phone", "010-87654321")]),
        ("ring +1 (415) 555-0132", [("phone", "+1 (415) 555-0132")]),
        ("mail a.b+c@example.co.uk.", [("email", "a.b+c@example.co.uk")]),
        ("验证码是482913", [("code", "482913")]),
        ("your OTP: 0042", [("code", "0042")]),
        ("7731是你的动态码", [("code", "7731")]),
    ],
)
def test_each_kind(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_redact_uses_placeholders_and_is_idempotent() -> None:
    card = make_card(random.Random(3), "6222", 19)
    text = f"卡号{card}，手机13912345678，验证码：4821，邮箱x@qq.com"
    once = redact(text)
    assert once == "卡号[CARD]，手机[PHONE]，验证码：[CODE]，邮箱[EMAIL]"
    assert redact(once) == once
    assert contains_pii(text) and not contains_pii(once)


def test_public_override_and_span_type() -> None:
    spans = find_pii("call 13800138000", public={"13800138000"})
    assert spans == []
    span = find_pii("call 13800138000")[0]
    assert isinstance(span, PiiSpan) and span.start == 5 and span.end == 16


# -- properties ---------------------------------------------------------------------------

_SEPARATORS = st.sampled_from([" ", "\n", "，", "：", ": ", "卡号", "card ", "(", ")", "、", "。"])
_CARD = st.builds(
    lambda seed, prefix, length: make_card(random.Random(seed), prefix, length),
    st.integers(0, 10**9),
    st.sampled_from(["4", "5", "62", "6228", "3"]),
    st.just(16),
)
_ID = st.builds(
    make_id,
    st.sampled_from(["110105", "440305", "310104", "510107", "330106"]),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)).map(
        lambda d: d.strftime("%Y%m%d")
    ),
    st.integers(0, 999),
)
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.text())
def test_redact_never_crashes_and_leaves_nothing_to_find(text: str) -> None:
    out = redact(text)
    assert isinstance(out, str)
    assert find_pii(out) == []


@_SETTINGS
@given(st.text(max_size=40), st.text(max_size=40), _SEPARATORS, _SEPARATORS, _CARD, st.booleans())
def test_embedded_luhn_card_is_always_redacted(pre, post, sep1, sep2, card, group) -> None:
    written = grouped(card) if group else card
    out = redact(pre + sep1 + written + sep2 + post)
    assert written not in out


@_SETTINGS
@given(st.text(max_size=40), st.text(max_size=40), _SEPARATORS, _SEPARATORS, _ID)
def test_embedded_valid_id_is_always_redacted(pre, post, sep1, sep2, number) -> None:
    out = redact(pre + sep1 + number + sep2 + post)
    assert number not in out
