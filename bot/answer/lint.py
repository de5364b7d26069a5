"""Style and honesty rules for articles, beyond the format `knowledge.py` enforces.

Rules: length bounds (zh 500-1500 characters, en 300-900 words), every phone number, short
code, e-mail and web address in a body is listed in `knowledge/hotlines.yaml`, no empty links,
every source has a URL. Each problem names file, line and rule. Used by `antiscam lint`, by
ingest and by the tests. It changes no file.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.answer.knowledge import Article, Problem

LENGTH = {"zh": (500, 1500), "en": (300, 900)}
_MD = re.compile(r"[#*_`>\-\[\]()|]")
_EMPTY_LINK = re.compile(r"\[[^\]]*\]\(\s*\)|\[\s*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[[^\]]*\]\(([^)]*)\)")
_URL = re.compile(
    r"(?:https?://)?(?:[a-z0-9-]+\.)+(?:com|cn|gov|uk|org|net|io|ly|cc|me|top|xyz|info)(?:/[\w\-./?=&%#]*)?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digit runs of 3+ (allowing inner spaces/dashes like 0300 123 2040 or 400-810-8866).
_NUMBER = re.compile(r"(?<![\d])(?<![\d][.,])(?:\+?\d[\d -]{1,14}\d)(?![\d]|[.,]\d)")
_UNIT_AFTER = re.compile(
    r"^\s*(?:万|亿|千|百|元|块|年|月|日|天|号|岁|人|个|起|件|条|次|家|名|张|倍|多|余|%|％|percent|people|cases|years?|days?|months?|hours?|minutes?|times|yuan|rmb|dollars?|pounds?|万元|亿元|\+)",
    re.IGNORECASE,
)
_UNIT_BEFORE = re.compile(
    r"(?:[$£¥€]|rmb|cny|usd|gbp|人民币|第|art\.?|article|§|no\.?|条)\s*$", re.IGNORECASE
)


def load_hotlines(path: Path) -> tuple[set[str], set[str]]:
    """(numbers as digit strings, lower-cased addresses) listed in hotlines.yaml."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    numbers, addresses = set(), set()
    for e in data.get("entries", []):
        if e.get("number"):
            numbers.add(re.sub(r"\D", "", str(e["number"])))
        if e.get("address"):
            addresses.add(str(e["address"]).lower().removeprefix("www."))
    return numbers, addresses


def body_length(article: Article) -> int:
    text = "\n".join(s.text for s in article.sections)
    if article.lang == "zh":
        return len(re.sub(r"\s", "", _MD.sub("", text)))
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’-]*", text))


def find_numbers(text: str) -> list[str]:
    """Bare digit runs that read as phone numbers or short codes (no unit, not a year)."""
    found = []
    for m in _NUMBER.finditer(text):
        raw = m.group(0).strip(" -")
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 3:
            continue
        if _UNIT_AFTER.match(text[m.end() :]) or _UNIT_BEFORE.search(text[: m.start()]):
            continue
        if len(digits) == 4 and 1990 <= int(digits) <= 2039 and raw.isdigit():
            continue
        if re.fullmatch(r"\d{4}-\d{1,2}(-\d{1,2})?", raw):  # a date like 2025-12-04
            continue
        found.append(raw)
    return found


def find_addresses(text: str) -> list[str]:
    emails = _EMAIL.findall(text)
    stripped = _EMAIL.sub(" ", text)
    urls = [u for u in _URL.findall(stripped)]
    return emails + urls


def _normalise_address(a: str) -> str:
    a = a.lower().strip().rstrip(".,;:)")
    a = re.sub(r"^https?://", "", a).removeprefix("www.")
    return a.rstrip("/")


def lint_article(
    article: Article, numbers: set[str], addresses: set[str], root: Path | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    path = article.path
    low, high = LENGTH[article.lang]
    size = body_length(article)
    unit = "characters" if article.lang == "zh" else "words"
    if not low <= size <= high:
        problems.append(
            Problem(
                path, article.body_line, "body", f"{size} {unit}, must be {low}-{high}", "length"
            )
        )
    if not any(s.url for s in article.sources):
        problems.append(
            Problem(path, 2, "sources", "at least one source needs a url", "source-url")
        )
    for section in article.sections:
        for offset, line in enumerate(section.text.splitlines(), start=1):
            where = section.line + offset
            if _EMPTY_LINK.search(line):
                problems.append(Problem(path, where, section.heading, "empty link", "empty-link"))
            for target in _MD_LINK.findall(line):
                if _normalise_address(target) not in addresses:
                    problems.append(
                        Problem(
                            path,
                            where,
                            section.heading,
                            f"link {target!r} is not in hotlines.yaml",
                            "hotline",
                        )
                    )
            for raw in find_numbers(_MD_LINK.sub(" ", line)):
                if re.sub(r"\D", "", raw) not in numbers:
                    problems.append(
                        Problem(
                            path,
                            where,
                            section.heading,
                            f"number {raw!r} is not in hotlines.yaml",
                            "hotline",
                        )
                    )
            for addr in find_addresses(line):
                norm = _normalise_address(addr)
                if norm not in addresses and not any(
                    norm.endswith("." + a) or norm.startswith(a + "/") for a in addresses
                ):
                    problems.append(
                        Problem(
                            path,
                            where,
                            section.heading,
                            f"address {addr!r} is not in hotlines.yaml",
                            "hotline",
                        )
                    )
    return problems


def lint_articles(articles: list[Article], knowledge_dir: Path) -> list[Problem]:
    numbers, addresses = load_hotlines(Path(knowledge_dir) / "hotlines.yaml")
    problems: list[Problem] = []
    for a in articles:
        problems.extend(lint_article(a, numbers, addresses))
    return problems


def lint_text(text: str, numbers: set[str], addresses: set[str]) -> list[str]:
    """Numbers and addresses in any text (e.g. a prompt) that hotlines.yaml does not list."""
    bad = [n for n in find_numbers(text) if re.sub(r"\D", "", n) not in numbers]
    bad += [a for a in find_addresses(text) if _normalise_address(a) not in addresses]
    return bad
