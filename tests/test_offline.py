"""Offline by default: the network is blocked in tests and the program sets offline flags."""

from __future__ import annotations

import os
import socket

import pytest

from bot.config import enforce_offline
from tests.conftest import NetworkBlocked


def test_non_loopback_connections_are_blocked():
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1, never routed


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=1):
        pass
    server.close()


def test_program_sets_offline_flags(monkeypatch):
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "GRADIO_ANALYTICS_ENABLED",
        "ANONYMIZED_TELEMETRY",
    ):
        monkeypatch.delenv(name, raising=False)
    enforce_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"


def test_chroma_client_has_telemetry_off(tmp_path):
    from bot.answer.store import make_client
    from bot.config import Settings

    client = make_client(Settings.from_env(data_dir=tmp_path, chroma_host=None))
    assert client.get_settings().anonymized_telemetry is False
