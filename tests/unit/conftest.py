"""Fixtures the unit tests share. A unit test runs no server and reaches no network: the
guard below makes a connection attempt fail the test, so a test that needs the loopback
sandbox is moved to tests/integration instead of slowing this layer down."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any socket connection from a unit test raises, naming the address it tried."""

    def refuse(self, address, *args, **kwargs):
        raise AssertionError(f"a unit test connected to {address!r}: move it to tests/integration")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
