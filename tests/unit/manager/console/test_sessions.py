"""Signed session cookies and their CSRF tokens, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from swarmfly.manager.console.sessions import SessionCodec
from tests.unit.scheduler.sample import FakeClock

KEY = b"k" * 32


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000_000.0)


@pytest.fixture
def codec(clock: FakeClock) -> SessionCodec:
    return SessionCodec(KEY, ttl=timedelta(hours=1), clock=clock)


def test_round_trip(codec: SessionCodec) -> None:
    session = codec.new(7)
    assert codec.decode(codec.encode(session)) == session
    assert session.is_signed_in and not codec.new(None).is_signed_in


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),  # mac changed
        lambda v: "e" + v,  # payload changed
        lambda v: v.replace(".", ""),  # no mac
        lambda v: v + ".x",  # three parts
        lambda v: "",
        lambda v: "a" * 2000,
        lambda v: "%%%.%%%",
    ],
)
def test_forgeries_are_refused(codec: SessionCodec, mangle: object) -> None:
    assert callable(mangle)
    assert codec.decode(mangle(codec.encode(codec.new(1)))) is None


def test_another_key_is_refused(codec: SessionCodec, clock: FakeClock) -> None:
    other = SessionCodec(b"o" * 32, ttl=timedelta(hours=1), clock=clock)
    assert other.decode(codec.encode(codec.new(1))) is None


def test_expiry_and_revocation(codec: SessionCodec, clock: FakeClock) -> None:
    session = codec.new(1)
    value = codec.encode(session)
    clock.advance(3599)
    assert codec.decode(value) == session
    clock.advance(1)
    assert codec.decode(value) is None
    fresh = codec.new(1)
    codec.revoke(fresh)
    assert codec.decode(codec.encode(fresh)) is None


def test_csrf_tokens_are_bound_to_their_session(codec: SessionCodec) -> None:
    one, two = codec.new(None), codec.new(None)
    token = codec.csrf_token(one)
    assert codec.check_csrf(one, token)
    assert not codec.check_csrf(two, token)
    assert not codec.check_csrf(one, None) and not codec.check_csrf(one, "")
    assert not codec.check_csrf(one, token[:-1])


def test_a_mac_altered_only_in_its_spare_bits_is_refused(codec: SessionCodec) -> None:
    value = codec.encode(codec.new(1))
    payload, mac = value.split(".")
    # 32 bytes take 43 characters: the last one's two low bits carry nothing. Flipping them
    # decodes to the same bytes, but the cookie is not the one that was issued.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(mac[-1])
    twin = alphabet[last ^ 1]
    assert codec.decode(f"{payload}.{mac[:-1]}{twin}") is None
    assert codec.decode(value) is not None
