"""The benchmark's plumbing (no timing): sizes, filler, targets, the plot, the CLI options."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.bench.compare import naive_tokens
from bot.bench.run import headline, parse_sizes, plot, targets
from bot.bench.scale import filler_batch, unit_vectors
from bot.cli import main
from bot.records import Chunk


def test_parse_sizes() -> None:
    assert parse_sizes("100k, 1000,10000,1000") == [1000, 10000, 100000]
    assert parse_sizes("") == []
    for bad in ("abc", "0", "-5"):
        with pytest.raises(ValueError):
            parse_sizes(bad)


def test_filler_is_deterministic_and_loads_as_chunks() -> None:
    vocab = (["诈骗", "贷款", "验证码"], ["loan", "scam", "fee"])
    a, b = filler_batch(10, 7, vocab, seed=3), filler_batch(10, 7, vocab, seed=3)
    assert a.texts == b.texts and a.ids == b.ids and len(set(a.ids)) == 7
    chunks = [Chunk.from_metadata(t, m) for t, m in zip(a.texts, a.metadatas, strict=True)]
    assert {c.lang for c in chunks} == {"zh", "en"} and all(c.topics == ("filler",) for c in chunks)
    assert all(w in vocab[0] + vocab[1] or w.isdigit() or w in ("填充资料", "filler", "article")
               for words in a.words for w in words)  # fmt: skip
    v = unit_vectors(0, 4, 8)
    assert v.shape == (4, 8) and abs(float((v * v).sum(axis=1).max()) - 1.0) < 1e-5


def _run(mode: str, size: int, p95: float, rss: float) -> dict:
    summary = {"p50_ms": p95 / 2, "p95_ms": p95, "mean_ms": p95 / 2, "n": 10}
    run = {"mode": mode, "size": size, "chunks": size, "retrieval": summary}
    run.update(search=summary, peak_rss_mib=rss)
    if mode == "server":
        run["server_peak_rss_mib"] = rss / 2
    return run


def test_targets_and_plot(tmp_path) -> None:
    runs = [_run(m, s, p, r) for m in ("embedded", "server")
            for s, p, r in ((1000, 20, 300), (100_000, 120, 1500))]  # fmt: skip
    runs.append({"mode": "server", "size": 10_000, "error": "timed out"})
    got = targets(runs)
    assert got["size"] == 100_000
    assert got["embedded"]["p95_met"] is False and got["embedded"]["rss_met"] is True
    assert got["server"]["chroma_server_peak_rss_mib"] == 750
    path = plot({"runs": runs}, tmp_path / "bench.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert headline({"growth": {"targets": got}})["targets"] == got


def test_naive_baseline_tokens_have_no_dictionary() -> None:
    assert naive_tokens("停息挂账 Scam-2024") == ["停", "息", "挂", "账", "scam", "2024"]


def test_bench_cli_options() -> None:
    runner = CliRunner()
    help_text = runner.invoke(main, ["bench", "--help"]).output
    assert "--sizes" in help_text and "--out" in help_text and "--questions" in help_text
    bad = runner.invoke(main, ["bench", "--sizes", "ten"])
    assert bad.exit_code == 2 and "--sizes" in bad.output


def test_cold_start_runs_fresh_processes_and_reports_ratio() -> None:
    from bot.bench.cold import cold_start

    result = cold_start(1, say=lambda _msg: None)
    assert "error" not in result, result
    assert len(result["ask_seconds"]) == len(result["raw_embedder_seconds"]) == 1
    # of the rounded seconds: rounding a ~0.4 s raw time to 0.01 s moves a ratio of 6 by up to
    # 0.08 (CI measured 5.96 against 6.02), so the tolerance is relative
    ratio = result["ask_p50_s"] / result["raw_embedder_p50_s"]
    assert result["ask_over_raw_embedder"] == pytest.approx(ratio, rel=0.03, abs=0.01)


def test_cold_start_reports_a_failing_process(monkeypatch) -> None:
    from bot.bench import cold

    monkeypatch.setattr(cold, "_EMBEDDER_ONLY", "raise SystemExit('no model here')")
    assert "no model here" in cold.cold_start(1, say=lambda _msg: None)["error"]
