"""BM25 over jieba tokens (Chinese) and lower-cased words (English), using bm25s.

The taxonomy's aliases are added to a private jieba dictionary so terms like 停息挂账 or
征信修复 stay whole. `LexicalIndex.cached` saves a built index to a directory (bm25s
save/load) under a fingerprint of the texts and the tokenizer, so a process that starts on
an index generation another process already tokenised loads it in seconds instead of
re-tokenising every chunk. This module only scores text; it knows nothing about vectors or
answers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

import bm25s
import jieba
import numpy as np

log = logging.getLogger(__name__)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Very common function words add noise to both BM25 and sentence overlap.
STOPWORDS = frozenset(
    "的 了 是 在 我 你 他 她 它 们 吗 呢 吧 啊 和 与 及 或 就 都 也 还 要 会 能 这 那 有 没 不 很 被 把 给 让 对 说 个 一 着 过 又 如果 什么 怎么 可以 "
    "a an the of to in on for and or is are was be it this that i you he she they we my your me do does did with as at by "
    "from if can will would should what how".split()
)


def load_default_dictionary(dt: jieba.Tokenizer | None = None) -> None:
    """Initialise jieba's default dictionary (`jieba.dt`) from our own copy of it, made on
    first use next to jieba's cache: an .npz of the words (one UTF-8 text) and their
    frequencies, read without pickle, in about a third of the time of jieba's marshal cache
    (0.2 s against 0.6 s here; a cold `antiscam ask` pays it once). The words and
    frequencies are jieba's own; a custom dictionary is left to jieba. `dt`: another jieba
    tokenizer to fill (tests)."""
    dt = dt if dt is not None else jieba.dt
    with dt.lock:
        if dt.initialized or dt.dictionary != jieba.DEFAULT_DICT:
            dt.initialize()
            return
        path = Path(dt.tmp_dir or tempfile.gettempdir()) / f"antiscam-jieba-{jieba.__version__}.npz"
        try:
            with np.load(path, allow_pickle=False) as saved:
                words = saved["words"].tobytes().decode("utf-8").split("\n")
                freq = saved["freq"].tolist()
                if len(words) != len(freq):
                    raise ValueError("words and frequencies differ in length")
                dt.FREQ, dt.total = dict(zip(words, freq, strict=True)), int(saved["total"][0])
                dt.initialized = True
                return
        except (OSError, ValueError, KeyError):
            pass  # missing or unreadable: build it from jieba's own and save it
        dt.initialize()
        text = "\n".join(dt.FREQ).encode("utf-8")
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        try:
            np.savez(
                tmp,
                words=np.frombuffer(text, dtype=np.uint8),
                freq=np.fromiter(dt.FREQ.values(), dtype=np.int64, count=len(dt.FREQ)),
                total=np.array([dt.total], dtype=np.int64),
            )
            os.replace(tmp, path)
        except OSError:
            log.debug("could not save jieba's dictionary to %s", path)


class Tokenizer:
    """jieba (own dictionary instance) for CJK runs, regex words for everything else."""

    def __init__(self, extra_words: Iterable[str] = ()):
        logging.getLogger("jieba").setLevel(logging.WARNING)
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False
        self._extra = [w for w in extra_words if w and _CJK.search(w)]

    def signature(self) -> str:
        """What the tokens depend on besides the text: versions, own words, stopwords."""
        parts = [jieba.__version__, *sorted(self._extra), "|", *sorted(STOPWORDS)]
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def _init(self) -> None:
        with self._lock:
            if not self._ready:
                # Start from a copy of jieba's default dictionary (which the output guard
                # loads anyway) instead of reading the same dictionary a second time.
                load_default_dictionary()
                self._jieba.FREQ, self._jieba.total = dict(jieba.dt.FREQ), jieba.dt.total
                self._jieba.initialized = True
                for w in self._extra:
                    self._jieba.add_word(w, freq=200000)
                self._ready = True

    def tokens(self, text: str) -> list[str]:
        if not self._ready:
            self._init()
        out: list[str] = []
        for m in _WORD.finditer(text.lower()):
            piece = m.group(0)
            if _CJK.match(piece):
                out.extend(t for t in self._jieba.lcut(piece, HMM=False) if t.strip())
            else:
                out.append(piece)
        return [t for t in out if t not in STOPWORDS]

    def token_set(self, text: str) -> frozenset[str]:
        """The distinct tokens of `text`, cached: answers split the same passages again and again."""
        return self._token_set(text)

    @functools.lru_cache(maxsize=16384)  # noqa: B019 (one tokenizer per process, lives as long)
    def _token_set(self, text: str) -> frozenset[str]:
        return frozenset(self.tokens(text))


class LexicalIndex:
    """A BM25 index over a fixed list of texts; scores come back in corpus order."""

    def __init__(self, texts: list[str], tokenizer: Tokenizer, bm25: bm25s.BM25 | None = None):
        self.tokenizer = tokenizer
        self.size = len(texts)
        if bm25 is not None:  # loaded from disk by `cached`
            self._bm25 = bm25
            return
        self._bm25 = bm25s.BM25()
        # Interned: one string object per distinct token instead of one per occurrence
        # (at 100k chunks this keeps ~600 MB of token strings out of the process).
        corpus = [[sys.intern(w) for w in tokenizer.tokens(t)] or ["\x00"] for t in texts]
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    @classmethod
    def cached(cls, texts: list[str], tokenizer: Tokenizer, directory: Path) -> LexicalIndex:
        """Load the index saved in `directory` if it was built from these very texts with
        this tokenizer; otherwise build it and save it there (best effort: a read-only or
        full disk only costs the next start its speed)."""
        fingerprint = _fingerprint(texts, tokenizer)
        stamp = directory / "fingerprint.txt"
        if texts and stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
            try:
                bm25 = bm25s.BM25.load(str(directory), load_corpus=False)
                if int(bm25.scores.get("num_docs", -1)) == len(texts):
                    return cls(texts, tokenizer, bm25)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("BM25 index in %s unreadable, rebuilding: %s", directory, exc)
        index = cls(texts, tokenizer)
        if texts:
            index.save(directory, fingerprint)
        return index

    def save(self, directory: Path, fingerprint: str) -> None:
        """Write the index, then its fingerprint, into a fresh directory swapped in whole."""
        tmp = directory.with_name(f"{directory.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            self._bm25.save(str(tmp), show_progress=False)
            (tmp / "fingerprint.txt").write_text(fingerprint, encoding="utf-8")
            shutil.rmtree(directory, ignore_errors=True)
            tmp.rename(directory)
        except OSError as exc:
            log.warning("could not save the BM25 index to %s: %s", directory, exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """(corpus index, score) of the best k texts with a positive score."""
        if self.size == 0:
            return []
        tokens = self.tokenizer.tokens(query)
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        k = min(k, self.size)
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx])]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]


def _fingerprint(texts: list[str], tokenizer: Tokenizer) -> str:
    digest = hashlib.sha256(f"bm25s {bm25s.__version__}\n{tokenizer.signature()}".encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    digest.update(str(len(texts)).encode())
    return digest.hexdigest()
