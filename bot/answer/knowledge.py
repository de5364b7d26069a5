"""Read and validate knowledge articles (`knowledge/<lang>/<topic>/<slug>.md`).

Parses YAML front matter and the six fixed sections into `Article` records and reports every
problem with file, line and field. It does not chunk, embed or store anything; style rules
that go beyond the format (length, numbers, links) live in `lint.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from bot.taxonomy import Taxonomy

SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # key order is the required order of sections in an article
    "zh": (
        ("what", "是什么"),
        ("lures", "常见话术"),
        ("flags", "识别要点"),
        ("consequences", "后果"),
        ("todo", "怎么办"),
        ("help", "求助渠道"),
    ),
    "en": (
        ("what", "What it is"),
        ("lures", "What they say"),
        ("flags", "Red flags"),
        ("consequences", "Consequences"),
        ("todo", "What to do"),
        ("help", "Where to get help"),
    ),
}
REQUIRED_FIELDS = ("id", "title", "lang", "topics", "sources", "updated")
SOURCE_FIELDS = ("title", "publisher", "date", "url")
_HEADING = re.compile(r"^##\s+(.+?)\s*$")
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?|n\.d\.")  # n.d. = the brief gives no date


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    field: str
    message: str
    rule: str = "format"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.field}: {self.message}"


class KnowledgeError(Exception):
    """Raised when one or more articles are malformed; nothing is ingested then."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n{lines}{more}")


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    text: str
    line: int


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    date: str
    url: str


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    lang: str
    topics: tuple[str, ...]
    sources: tuple[Source, ...]
    updated: str
    path: Path
    sections: tuple[Section, ...] = field(default_factory=tuple)
    body_line: int = 1

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


def _field_lines(fm_text: str, offset: int) -> dict[str, int]:
    """Line number of each top-level front-matter key (1-based, in the file)."""
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(fm_text)
    except yaml.YAMLError:
        return lines
    if isinstance(node, yaml.MappingNode):
        for key, _value in node.value:
            lines[str(key.value)] = key.start_mark.line + offset
    return lines


def parse_article(
    path: Path, taxonomy: Taxonomy, root: Path | None = None
) -> Article | list[Problem]:
    """Parse one file; return the Article, or the list of problems found in it."""
    shown = path.relative_to(root) if root and path.is_relative_to(root) else path
    problems: list[Problem] = []

    def bad(line: int, fld: str, msg: str) -> None:
        problems.append(Problem(shown, line, fld, msg))

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad(raw[: exc.start].count(b"\n") + 1, "encoding", f"not valid UTF-8 at byte {exc.start}")
        return problems

    if not text.startswith("---"):
        bad(1, "front matter", "file must start with a '---' YAML front-matter block")
        return problems
    try:
        fm_text, content = frontmatter.YAMLHandler().split(text)
    except ValueError:
        bad(1, "front matter", "front matter is not closed by a second '---' line")
        return problems
    try:
        meta = yaml.safe_load(fm_text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        bad(line, "front matter", f"invalid YAML: {reason}")
        return problems
    except (ValueError, RecursionError) as exc:  # e.g. `updated: 2026-13-45`, deep nesting
        bad(1, "front matter", f"invalid YAML value: {str(exc)[:200]}")
        return problems
    if not isinstance(meta, dict):
        bad(2, "front matter", "front matter must be a mapping of fields")
        return problems

    lines = _field_lines(fm_text, offset=1)  # fm_text starts with the newline after ---
    body_line = text[: text.find(content)].count("\n") + 1 if content else 1
    for name in REQUIRED_FIELDS:
        if meta.get(name) in (None, "", []):
            bad(lines.get(name, 2), name, "required field is missing or empty")

    lang = str(meta.get("lang", ""))
    if "lang" in meta and lang not in SECTIONS:
        bad(lines.get("lang", 2), "lang", f"must be 'zh' or 'en', got {lang!r}")
    topics = meta.get("topics") or []
    if not isinstance(topics, list):
        bad(lines.get("topics", 2), "topics", "must be a list of topic ids")
        topics = []
    for t in topics:
        if not isinstance(t, str) or t not in taxonomy:
            bad(lines.get("topics", 2), "topics", f"unknown topic {t!r} (not in taxonomy.yaml)")
    sources = meta.get("sources") or []
    parsed_sources: list[Source] = []
    if not isinstance(sources, list):
        bad(lines.get("sources", 2), "sources", "must be a list of {title, publisher, date, url}")
        sources = []
    for i, s in enumerate(sources):
        if not isinstance(s, dict):
            bad(lines.get("sources", 2), f"sources[{i}]", "must be a mapping")
            continue
        for f in SOURCE_FIELDS:
            if not str(s.get(f) or "").strip():
                bad(
                    lines.get("sources", 2),
                    f"sources[{i}].{f}",
                    "required field is missing or empty",
                )
        date = _as_text(s.get("date"))
        if date and not _DATE.fullmatch(date):
            bad(
                lines.get("sources", 2),
                f"sources[{i}].date",
                f"must be YYYY, YYYY-MM, YYYY-MM-DD or n.d., got {date!r}",
            )
        url = str(s.get("url") or "")
        if url and not re.match(r"^https?://\S+$", url):
            bad(lines.get("sources", 2), f"sources[{i}].url", f"not an http(s) URL: {url!r}")
        parsed_sources.append(Source(*(_as_text(s.get(f)) for f in SOURCE_FIELDS)))

    doc_id = str(meta.get("id") or "")
    if doc_id and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", doc_id):
        bad(
            lines.get("id", 2),
            "id",
            f"must be lowercase ASCII letters, digits and hyphens: {doc_id!r}",
        )

    sections = _parse_sections(content, body_line, lang, bad) if lang in SECTIONS else ()
    if problems:
        return problems
    return Article(
        id=doc_id,
        title=str(meta["title"]),
        lang=lang,
        topics=tuple(topics),
        sources=tuple(parsed_sources),
        updated=_as_text(meta["updated"]),
        path=Path(shown),
        sections=sections,
        body_line=body_line,
    )


def _as_text(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value or "").strip()


def _parse_sections(content: str, first_line: int, lang: str, bad) -> tuple[Section, ...]:
    expected = SECTIONS[lang]
    by_heading = {h: k for k, h in expected}
    found: list[tuple[str, str, int, list[str]]] = []
    for i, raw in enumerate(content.splitlines()):
        m = _HEADING.match(raw)
        if m:
            heading = m.group(1)
            if heading not in by_heading:
                bad(first_line + i, "section", f"unexpected heading '## {heading}'")
                found.append(("", heading, first_line + i, []))  # its text belongs to no section
                continue
            found.append((by_heading[heading], heading, first_line + i, []))
        elif found:
            found[-1][3].append(raw)
    found = [f for f in found if f[0]]  # text under an unknown heading belongs to no section
    keys = [f[0] for f in found]
    for key, heading in expected:
        if key not in keys:
            bad(first_line, f"section '{heading}'", "required section is missing")
    if len(set(keys)) != len(keys):
        bad(first_line, "section", "a section heading appears twice")
    elif [k for k, _ in expected if k in keys] != keys:
        bad(first_line, "section", "sections are not in the required order")
    sections = []
    for key, heading, line, body in found:
        text = "\n".join(body).strip()
        if not text:
            bad(line, f"section '{heading}'", "section is empty")
        sections.append(Section(key, heading, text, line))
    return tuple(sections)


def article_paths(knowledge_dir: Path) -> list[Path]:
    """All article files, in a stable order (README files are not articles)."""
    return sorted(
        p for p in Path(knowledge_dir).glob("*/*/*.md") if p.parent.parent.name in SECTIONS
    )


def load_knowledge(knowledge_dir: Path, taxonomy: Taxonomy | None = None) -> list[Article]:
    """Load every article; raise KnowledgeError listing all problems if any file is bad."""
    knowledge_dir = Path(knowledge_dir)
    taxonomy = taxonomy or Taxonomy.load(knowledge_dir / "taxonomy.yaml")
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in article_paths(knowledge_dir):
        result = parse_article(path, taxonomy, root=knowledge_dir.parent)
        if isinstance(result, list):
            problems.extend(result)
            continue
        if result.id in seen:
            problems.append(
                Problem(
                    result.path, 2, "id", f"duplicate id {result.id!r} (also in {seen[result.id]})"
                )
            )
            continue
        seen[result.id] = result.path
        lang_dir, topic_dir = path.parent.parent.name, path.parent.name
        if lang_dir != result.lang:
            problems.append(
                Problem(result.path, 2, "lang", f"is {result.lang!r} but file is under {lang_dir}/")
            )
        if result.topics and topic_dir != result.topics[0]:
            problems.append(
                Problem(
                    result.path,
                    2,
                    "topics",
                    f"first topic {result.topics[0]!r} must match folder {topic_dir!r}",
                )
            )
        articles.append(result)
    if problems:
        raise KnowledgeError(problems)
    return articles
