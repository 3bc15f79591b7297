"""The helpers the integration tests choose ports with."""

from __future__ import annotations

from tests.helpers import free_port, free_ports


def test_free_ports_are_never_handed_out_twice():
    """The system offers a port again once its probe closes: servers of one test were given
    the same port (victoria-metrics and vmalert)."""
    ports = [free_port() for _ in range(1500)]
    first = free_ports(3)
    assert len(set(ports)) == len(ports)
    assert not {first, first + 1, first + 2} & set(ports)
