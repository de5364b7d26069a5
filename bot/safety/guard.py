"""Output guard: pure checks on a generated answer, over plain strings.

- `unsupported_facts(answer, passages, allowed)`: phone numbers, web addresses / e-mails
  and money amounts in the answer that appear in no passage and not in `allowed`
  (pass `hotline_allowlist()`). Formats are normalised before comparing:
  `6万元` = `60000元` = `¥60,000`; `0300 123 2040` = `03001232040` = `+44 300 123 2040`;
  `https://www.12321.cn/` = `12321.cn`. Following knowledge/README.md, a bare number of three
  or more digits with no unit after it is read as a phone number; years 1990-2039, dates,
  percentages, `第31条`, durations (`20日`, `3 business days`) and citation markers are not.
- `broken_promises(answer)`: outcome promises ("一定能追回", "100%追回", "guaranteed to get
  your money back") and advice to pay a fee to / hire an intermediary. Quoted or negated
  uses ("不要相信'保证追回'", "nobody can guarantee ...") are not flagged.
- `grounding_score(sentences, cited_passages, embed=None)`: share of answer sentences
  supported by at least one of the passages it cites. A sentence is supported when at
  least `OVERLAP_MIN` of its content tokens occur in the passage (jieba words for Chinese,
  lower-cased words for English; stop words dropped), or, when `embed` is given, when the
  cosine similarity of the two vectors is at least `COSINE_MIN`. Sentences without content
  tokens are skipped; no scorable sentence gives 0.0. `supports(sentence, passage)` is the
  same token test for one pair (bot/answer/cited.py checks each sentence against its [n]).

Not done here: citation-marker checks (bot/answer/verify.py), choosing the fallback (bot/answer/chain.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from bot.config import ROOT
from bot.safety.pii import phone_key

HOTLINES_PATH = ROOT / "knowledge" / "hotlines.yaml"
OVERLAP_MIN = 0.5  # share of a sentence's content tokens found in a cited passage
COSINE_MIN = 0.89  # e5-small query vectors: paraphrases measured 0.90-0.97, unrelated 0.84-0.88

_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.I)
_URL = re.compile(
    r"(?<![@A-Za-z0-9_.-])(?:https?://)?(?:[a-z0-9-]+\.)+(?:com|cn|net|org|gov|edu|int|uk|us|io|co|info|top|xyz|cc|me|app|vip|shop|site|online|hk|tw|mo|jp|de|fr|au|ca|biz|club|ly|link|live|pro|tech|store|wang|ltd|ru|in|sg)(?![A-Za-z0-9_-])(?:/[^\s，。；、）)\]>\"'”]*)?",
    re.I,
)
_MULT = {"万": 1e4, "千": 1e3, "亿": 1e8, "百万": 1e6, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}  # fmt: skip
_CUR = {
    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "元": "CNY", "块": "CNY", "人民币": "CNY",
    "yuan": "CNY", "$": "USD", "us$": "USD", "usd": "USD", "美元": "USD", "dollars": "USD",
    "£": "GBP", "gbp": "GBP", "英镑": "GBP", "pounds": "GBP", "€": "EUR", "eur": "EUR",
    "欧元": "EUR", "euros": "EUR",
}  # fmt: skip
_NUM = r"(\d[\d,]*(?:\.\d+)?)"
_MULT_RE = r"(百万|万|千|亿|k|thousand|million|billion|bn|m)?"
_MONEY = [
    re.compile(rf"(us\$|[¥￥$£€]|rmb|cny|usd|gbp|eur)\s?{_NUM}\s?{_MULT_RE}(?![a-z])", re.I),
    re.compile(
        rf"(?<![\d.,]){_NUM}\s?{_MULT_RE}\s?(元|块|人民币|美元|英镑|欧元|yuan|dollars|pounds|euros|rmb|usd|gbp)",
        re.I,
    ),
    re.compile(r"(?<![\d.,])(\d+(?:\.\d+)?)(万|亿)(?![元块人次个条家户件名字余多])()"),
]
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_.,\[/#-])\+?(?:\(\d{2,4}\)\s?)?\d+(?:[ -]\(?\d+\)?)*(?![A-Za-z0-9_])(?![.,]\d)"
)
_NOT_PHONE_AFTER = re.compile(
    r"^\s?(?:年|个?月|日|号|天|周|小时|分钟|秒|元|块|万|千|亿|%|％|岁|次|条|款|项|倍|人|家|张|笔|位|名|户|件|例|起|"
    r"business|days?|years?|months?|weeks?|hours?|minutes?|seconds?|percent|times|people|"
    r"st\b|nd\b|rd\b|th\b)",
    re.I,
)
_NOT_PHONE_BEFORE = re.compile(r"(?:第|art\.?|article|§|section|no\.?|第\s?)\s?$", re.I)
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}:\d{2}")

_NEGATION = re.compile(
    r"(不要|别|切勿|千万|不用|无需|不需要|没有|不会|不能|不可能|谁也|任何|声称|自称|号称|承诺|骗子|谎称|所谓|"
    r"\bnever\b|\bdon'?t\b|\bdo not\b|\bno need\b|\bnot\b|\bavoid\b|\bwon'?t\b|\bcannot\b|\bcan'?t\b|"
    r"\bnobody\b|\bno one\b|\banyone\b|\bclaim\w*|\bpromis\w*|\bscammers?\b|\bbeware\b)",
    re.I,
)
_PROMISES = [
    r"(一定|肯定|保证|百分之?百|100%|包|稳|绝对)(能|可以|会)?(帮你|为你|给你)?(全额)?(追回|要回|拿回|退回|挽回|追讨回来|退款|到账|下款|批下来|成功)",
    r"全额(追回|退还|返还)|包过|包下款",
    r"\bguarantee[ds]?\b.{0,40}\b(get|recover|refund|back|approv\w*|success\w*|result)",
    r"\b(will|can) definitely (get|recover)\b|\b100\s?% (guaranteed|sure|certain|success\w*|recover\w*|refund)",
    r"\b(we|they|you)('ll| will) (get|recover) (all )?(your|the) money back\b",
]
_FEES = [
    r"(先|需要|须|请|建议|可以|只需|只要|应该)(支付|缴纳|交|付|转)(一笔|一定的|少量|小额|点)?.{0,6}(手续费|服务费|保证金|解冻费|押金|中介费|代理费|佣金|律师费|追回费|追款费|工本费|验证金|会员费|定金)",
    r"(找|委托|联系|请|花钱请)(一家|一个)?(专业的?)?(中介|代理|追款公司|追回机构|维权机构|律师团队|黑客|追损|债务优化公司|征信修复公司|反催收)(帮你|帮忙|代为|去|来)?(追回|维权|协商|处理|修复|追讨|谈)",
    r"\bpay (a |the |an |small |their |your )?(\w+ )?(fee|deposit|commission|retainer)\b.{0,30}\b(agent|agency|company|service|broker|lawyer|recovery|hacker|specialist|firm)",
    r"\b(hire|use|contact|pay) (a |an )?(fund |money |asset |crypto )?(recovery|debt relief|debt settlement|credit repair) (agents?|company|companies|services?|firms?|experts?|specialists?)\b",
    # a line (or bullet) that opens with "Pay …": a consequence copied as a step ("What to do
    # now: - Pay the fee and still owe the whole debt.")
    r"(?m)^\s*(?:[-*•]\s*|\d+[.、)]\s*)?pay\b(?!\s+(?:nothing|no\b|only|attention|close))",
]
_PROMISE_RE = [re.compile(p, re.I) for p in _PROMISES + _FEES]
_QUOTES = {"“": "”", "「": "」", "『": "』", '"': '"', "‘": "’", "《": "》"}
_SENT_END = re.compile(r"[。！？!?\n]|\.\s")
_ZH_STOP = set("的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 向 从 这 那 你 我 他 她 它 们 吗 呢 吧 啊 要 会 能 可以 一个 这个 那个 如果 因为 所以 但是 并 且 等".split())  # fmt: skip
_EN_STOP = set("a an the and or but if of to in on at by for with from as is are was were be been it its this that these those you your we our they their he she i me my do does did not no so can will would should could may might than then there here what which who how when where".split())  # fmt: skip


def _money_key(currency: str, number: str, mult: str) -> str:
    value = float(number.replace(",", "")) * _MULT.get((mult or "").lower(), 1)
    cur = _CUR.get(currency.lower(), currency.upper())
    return f"{cur}:{value:.2f}".rstrip("0").rstrip(".")


def _extract(text: str) -> list[tuple[str, str]]:
    """(surface text, normalised key) for every address, amount and phone-like number, in
    text order."""
    found: list[tuple[int, str, str]] = []
    masked = list(text)

    def take(start: int, end: int, key: str) -> None:
        found.append((start, text[start:end], key))
        masked[start:end] = " " * (end - start)

    for m in _EMAIL.finditer(text):
        take(m.start(), m.end(), m.group().lower())
    for m in _URL.finditer("".join(masked)):
        end = m.start() + len(m.group().rstrip(".,;:!?"))
        take(m.start(), end, _url_key(m.group()))
    for m in _MONEY[0].finditer("".join(masked)):
        take(m.start(), m.end(), _money_key(m.group(1), m.group(2), m.group(3)))
    for pattern in _MONEY[1:]:
        for m in pattern.finditer("".join(masked)):
            take(m.start(), m.end(), _money_key(m.group(3) or "元", m.group(1), m.group(2)))
    for m in _DATE.finditer("".join(masked)):
        masked[m.start() : m.end()] = " " * (m.end() - m.start())
    current = "".join(masked)
    for m in _PHONE.finditer(current):
        digits = re.sub(r"\D", "", m.group())
        after, before = current[m.end() : m.end() + 12], current[max(0, m.start() - 10) : m.start()]
        if len(digits) < 3 or _NOT_PHONE_AFTER.match(after) or _NOT_PHONE_BEFORE.search(before):
            continue
        if len(digits) == 4 and m.group() == digits and 1990 <= int(digits) <= 2039:
            continue
        found.append((m.start(), m.group().strip(), "tel:" + phone_key(m.group())))
    return [(surface, key) for _, surface, key in sorted(found)]


def _url_key(url: str) -> str:
    url = re.sub(r"^https?://", "", url.lower())
    url = re.sub(r"^www\.", "", url)
    return url.rstrip("/.,;:!?")


def _allowed_key(item: str) -> str:
    item = item.strip()
    if "@" in item:
        return item.lower()
    if re.search(r"[a-z]", item, re.I):
        return _url_key(item)
    return "tel:" + phone_key(item)


def unsupported_facts(answer: str, passages: list[str], allowed: Iterable[str] = ()) -> list[str]:
    """Numbers, addresses and amounts in `answer` found in no passage and not in `allowed`."""
    supported = {key for passage in passages for _, key in _extract(passage)}
    supported |= {_allowed_key(a) for a in allowed}
    hosts = {k.split("/")[0] for k in supported if "/" in k}
    out: list[str] = []
    for surface, key in _extract(answer):
        if key in supported or ("/" not in key and key in hosts):
            continue
        if surface not in out:
            out.append(surface)
    return out


def hotline_allowlist(path: Path | str = HOTLINES_PATH) -> set[str]:
    """Every `number` and `address` listed in knowledge/hotlines.yaml, as written there."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {
        str(entry.get("number") or entry.get("address"))
        for entry in data.get("entries", [])
        if entry.get("number") or entry.get("address")
    }


def _negated_or_quoted(text: str, start: int) -> bool:
    sentence_start = max((m.end() for m in _SENT_END.finditer(text, 0, start)), default=0)
    before = text[sentence_start:start]
    if _NEGATION.search(before[-60:]):
        return True
    return any(
        before.count(o) > before.count(c) if o != c else before.count(o) % 2 == 1
        for o, c in _QUOTES.items()
    )


def broken_promises(answer: str) -> list[str]:
    """Outcome promises and pay-an-intermediary advice, unless quoted or negated."""
    spans: list[tuple[int, int]] = []
    for pattern in _PROMISE_RE:
        for m in pattern.finditer(answer):
            overlaps = any(m.start() < e and s < m.end() for s, e in spans)
            if not overlaps and not _negated_or_quoted(answer, m.start()):
                spans.append((m.start(), m.end()))
    return [answer[s:e] for s, e in sorted(spans)]


@lru_cache(maxsize=16384)
def _tokens(text: str) -> frozenset[str]:
    """Content words of `text` (cached: the same passages come back answer after answer)."""
    if re.search(r"[\u4e00-\u9fff]", text):
        import jieba

        jieba.setLogLevel(60)
        words = [w.strip().lower() for w in jieba.lcut(text)]
        words = [w for w in words if w and re.search(r"[\w\u4e00-\u9fff]", w)]
        return frozenset(w for w in words if w not in _ZH_STOP and (len(w) > 1 or w.isdigit()))
    words = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(w for w in words if w not in _EN_STOP and len(w) > 1)


def content_tokens(text: str) -> frozenset[str]:
    """The content words `supports` and `overlap` compare (jieba words for Chinese)."""
    return _tokens(text)


def overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's content tokens that occur in the passage (0 without tokens)."""
    tokens = _tokens(sentence)
    return len(tokens & _tokens(passage)) / len(tokens) if tokens else 0.0


def supports(sentence: str, passage: str) -> bool:
    """True when at least `OVERLAP_MIN` of the sentence's content tokens occur in the passage
    (a sentence without content tokens is supported by nothing)."""
    return overlap(sentence, passage) >= OVERLAP_MIN


def grounding_score(
    sentences: list[str],
    cited_passages: list[list[str]],
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> float:
    """Share of sentences supported by one of their own cited passages (see module doc)."""
    scored = supported = 0
    for i, sentence in enumerate(sentences):
        passages = cited_passages[i] if i < len(cited_passages) else []
        tokens = _tokens(sentence)
        if not tokens:
            continue
        scored += 1
        if any(len(tokens & _tokens(p)) / len(tokens) >= OVERLAP_MIN for p in passages):
            supported += 1
        elif embed is not None and passages:
            vectors = np.asarray(embed([sentence, *passages]), dtype=np.float32)
            if float(np.max(vectors[1:] @ vectors[0])) >= COSINE_MIN:
                supported += 1
    return round(supported / scored, 3) if scored else 0.0


# a section label line of an answer ("要点：", "What to do now:"): a heading, not a claim
SECTION_LABEL = re.compile(r"^\s*(?:[^\s。！？!?]{1,16}|[A-Za-z]+(?: [A-Za-z]+){0,4})\s*[：:]\s*$")
GROUNDING_MIN = 0.6  # below this share of supported sentences, a model answer is replaced


# Lines of the user prompt's scaffolding (prompts/answer.yaml): "Passages:", "Question:",
# and passages listed as "[n] (title) text". A model that prints them is copying its input.
_PROMPT_ECHO = re.compile(
    r"^\s*(?:passages|question)\s*[:：]|^\s*\[\d+\]\s*[(（][^)）\n]{2,80}[)）]",
    re.IGNORECASE | re.MULTILINE,
)


def prompt_echo(text: str) -> str:
    """The first line of `text` that repeats the prompt's scaffolding ('' if none)."""
    m = _PROMPT_ECHO.search(text)
    return text[m.start() :].strip().splitlines()[0][:60] if m else ""


class OutputGuard:
    """What the chain runs on every `openai` answer before anyone sees it.

    Returns the list of problems (empty = accepted): facts (phone numbers, addresses, amounts)
    found in no cited passage and not in hotlines.yaml, promises of outcomes or advice to pay
    an intermediary, and a grounding score below `GROUNDING_MIN`.
    """

    def __init__(self, hotlines: Path | str = HOTLINES_PATH):
        self.allowed = hotline_allowlist(hotlines)

    def __call__(self, text: str, passages: list) -> list[str]:
        sources = [getattr(p, "text", str(p)) for p in passages]
        problems = [
            f"unsupported fact: {f}" for f in unsupported_facts(text, sources, self.allowed)
        ]
        problems += [f"promise or fee advice: {p}" for p in broken_promises(text)]
        if echo := prompt_echo(text):
            problems.append(f"repeats the prompt: {echo}")
        sentences = [
            s for s in re.split(r"(?<=[。！？!?])|(?<=\.)\s+|\n+", text) if s and s.strip()
        ]
        sentences = [re.sub(r"\[\d+\]", "", s).strip(" -") for s in sentences]
        sentences = [s for s in sentences if s and not SECTION_LABEL.match(s)]  # "要点："
        score = grounding_score(sentences, [sources] * len(sentences))
        if score < GROUNDING_MIN:
            problems.append(f"grounding {score} < {GROUNDING_MIN}")
        return problems
