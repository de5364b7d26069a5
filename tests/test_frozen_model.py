"""The frozen prediction copies give scikit-learn's numbers, and loading them needs no sklearn."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.frozen_model import CharGrams, Linear, freeze

TRAIN = [
    "网贷放款前要我先交解冻金，正常吗？",
    "有人让我提供身份证帮他贷款，说不用我还",
    "客服说我的账户被冻结了，要我转到安全账户",
    "Is it normal to pay an unlock fee before a loan is released?",
    "The caller said he was from the police and asked me to share my screen",
    "Your parcel is waiting, click the link to pay the customs fee",
    "明天一起吃饭吗",
    "What time does the bank open on Saturday?",
    "A  b\tc\nd  e",
    "x",
]
LABELS = ["loan", "loan", "service", "loan", "police", "parcel", "none", "none", "none", "none"]
PROBES = [
    *TRAIN,
    "",
    "   ",
    "解冻金",
    "UNLOCK FEE please",
    "ab",
    "a",
    "完全没见过的句子 with unseen words zzz",
    "ＦＵＬＬ　ｗｉｄｔｈ",
]


@pytest.mark.parametrize("ngrams", [(1, 3), (2, 4)])
@pytest.mark.parametrize("sublinear", [True, False])
def test_char_grams_match_sklearn(ngrams: tuple[int, int], sublinear: bool) -> None:
    fitted = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=sublinear)
    fitted.fit(TRAIN)
    ours = CharGrams.from_sklearn(fitted).transform(PROBES).toarray()
    assert np.allclose(ours, fitted.transform(PROBES).toarray(), atol=1e-12)
    assert ours.shape[1] == len(fitted.vocabulary_)


@pytest.mark.parametrize("labels", [LABELS, [label == "none" for label in LABELS]])
def test_linear_matches_sklearn(labels: list) -> None:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(TRAIN)
    fitted = LogisticRegression(C=4.0, max_iter=2000).fit(vectorizer.transform(TRAIN), labels)
    grams, linear = freeze(vectorizer), freeze(fitted)
    features = grams.transform(PROBES)
    assert list(linear.classes_) == list(fitted.classes_)
    expected = fitted.predict_proba(vectorizer.transform(PROBES))
    assert np.allclose(linear.predict_proba(features), expected, atol=1e-10)
    assert np.allclose(
        linear.decision_function(features), fitted.decision_function(features), atol=1e-10
    )


def test_freeze_refuses_what_it_cannot_copy() -> None:
    with pytest.raises(ValueError, match="char_wb"):
        CharGrams.from_sklearn(TfidfVectorizer(analyzer="word").fit(TRAIN))
    with pytest.raises(TypeError):
        freeze(object())


def test_loading_a_frozen_model_does_not_import_sklearn(tmp_path) -> None:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(TRAIN)
    fitted = LogisticRegression(max_iter=2000).fit(vectorizer.transform(TRAIN), LABELS)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps((freeze(vectorizer), freeze(fitted))))
    script = (
        "import pickle, sys\n"
        f"grams, linear = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "print(linear.predict_proba(grams.transform(['解冻金'])).shape)\n"
        "assert not any(m.startswith('sklearn') for m in sys.modules), 'sklearn imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"(1, {len(set(LABELS))})"
    assert isinstance(pickle.loads(path.read_bytes())[1], Linear)
