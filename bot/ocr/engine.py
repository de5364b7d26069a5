"""The OCR engine and the bounded pool it runs in.

- `OcrLine`: one read line of text, its box (x0, y0, x1, y1 in the picture's pixels), score.
- `RapidEngine`: RapidOCR (PP-OCRv4 detection + recognition as ONNX files inside the
  `rapidocr-onnxruntime` wheel, onnxruntime on CPU). The model loads on first use, never at
  import; screenshots are upright, so the direction classifier is off.
- `OcrPool`: at most `workers` pictures are read at once, at most `queue` more wait; a
  further picture is refused at once (`OcrBusy`), and a caller gives up after `timeout`
  seconds (`OcrTimeout`; the worker finishes the picture and drops it). Chat answers run in
  their own threads, so pictures cannot take their place.

It does not decode or validate image bytes (`image.py`) and does not group lines (`layout.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class OcrLine:
    """One line read from the picture."""

    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    score: float

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


class OcrEngine(Protocol):
    """Reads lines from an RGB picture given as a numpy array (H×W×3, uint8)."""

    def read(self, rgb: Any) -> list[OcrLine]: ...


class RapidEngine:
    """RapidOCR on CPU with `threads` onnxruntime threads per model."""

    def __init__(self, threads: int = 2, min_score: float = 0.5):
        self.threads = threads
        self.min_score = min_score
        self._ocr: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        with self._lock:
            if self._ocr is None:
                from rapidocr_onnxruntime import RapidOCR

                self._ocr = RapidOCR(
                    intra_op_num_threads=self.threads,
                    inter_op_num_threads=1,
                    use_cls=False,
                    text_score=self.min_score,
                    det_limit_type="max",
                    det_limit_side_len=4000,  # the caller scales the picture already
                    min_side_len=10,
                )
            return self._ocr

    def read(self, rgb: Any) -> list[OcrLine]:
        bgr = rgb[:, :, ::-1].copy()  # OpenCV order
        result, _elapsed = self._model()(bgr, use_cls=False)
        lines = []
        for box, text, score in result or []:
            xs = [int(p[0]) for p in box]
            ys = [int(p[1]) for p in box]
            text = str(text).strip()
            if text:
                lines.append(OcrLine(text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
        return lines


class OcrBusy(Exception):
    """Too many pictures are being read or waiting."""


class OcrTimeout(Exception):
    """The picture took longer than the time limit."""


class OcrPool:
    """A fixed pool of OCR threads with a bounded waiting line and a time limit per picture."""

    def __init__(self, workers: int = 1, queue: int = 4, timeout: float = 20.0):
        self.workers, self.queue, self.timeout = workers, queue, timeout
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the pool; raises `OcrBusy` or `OcrTimeout` instead of waiting long."""
        if not self._slots.acquire(blocking=False):
            raise OcrBusy
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()  # if it has not started; a started one runs to its end
            raise OcrTimeout from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
