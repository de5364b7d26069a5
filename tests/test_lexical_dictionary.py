"""jieba's default dictionary read from our .npz copy is jieba's own, and a bad copy is rebuilt."""

from __future__ import annotations

import jieba

from bot.answer.lexical import load_default_dictionary

TEXT = "网贷放款前要我先交解冻金，征信修复公司说能删除逾期记录"


def _fresh(tmp_path) -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(tmp_path)
    return tokenizer


def test_saved_copy_equals_jiebas_dictionary(tmp_path) -> None:
    built = _fresh(tmp_path)
    load_default_dictionary(built)  # builds from jieba's own, saves the copy
    saved = list(tmp_path.glob("antiscam-jieba-*.npz"))
    assert len(saved) == 1
    loaded = _fresh(tmp_path)
    load_default_dictionary(loaded)  # reads the copy
    reference = _fresh(tmp_path / "jieba-only")
    (tmp_path / "jieba-only").mkdir()
    reference.initialize()
    assert loaded.FREQ == reference.FREQ and loaded.total == reference.total
    assert loaded.lcut(TEXT, HMM=False) == reference.lcut(TEXT, HMM=False)


def test_an_unreadable_copy_is_rebuilt(tmp_path) -> None:
    load_default_dictionary(_fresh(tmp_path))
    (path,) = tmp_path.glob("antiscam-jieba-*.npz")
    path.write_bytes(b"not a numpy file")
    again = _fresh(tmp_path)
    load_default_dictionary(again)
    assert again.initialized and len(again.FREQ) > 100_000
    assert path.stat().st_size > 1_000_000  # written again
