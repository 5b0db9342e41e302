"""``swarmfly up --port ROLE=PORT``: the default ports, with the ones named replaced."""

from __future__ import annotations

import pytest

from swarmfly.errors import InvalidInput
from swarmfly.stack import StackPorts, parse_stack_ports


def test_no_pairs_keep_the_default_ports() -> None:
    assert parse_stack_ports([]) == StackPorts() == StackPorts(8080, 8002, 4000, 4001, 4003)


def test_each_pair_replaces_one_port() -> None:
    ports = parse_stack_ports(["manager=18080", "control=14003", "manager=18081"])
    assert ports == StackPorts(manager=18081, control=14003)


@pytest.mark.parametrize(
    "pair", ["nginx=80", "manager", "manager=", "manager=0", "manager=65536", "proxy=-1", "=4001"]
)
def test_a_bad_pair_is_refused_by_name(pair: str) -> None:
    with pytest.raises(InvalidInput, match="ROLE=PORT") as raised:
        parse_stack_ports([pair])
    assert repr(pair) in str(raised.value)
