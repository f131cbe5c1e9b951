"""Notices: said only when someone listens, only for waits worth saying, once per wait."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler import notices


@pytest.fixture
def said() -> Iterator[list[str]]:
    lines: list[str] = []
    notices.listen(lines.append)
    yield lines
    notices.listen(None)


def test_a_wait_is_said_once_while_it_lasts_and_a_short_one_not_at_all(said: list[str]) -> None:
    notices.waiting("throttled", 30.0, "first")
    notices.waiting("throttled", 30.0, "same wait, another thread")
    notices.waiting("server error", 2.0, "another kind")
    notices.waiting("unreachable", notices.WORTH_SAYING / 2, "too short to say")
    assert said == ["first", "another kind"]


def test_nothing_is_said_without_a_listener() -> None:
    notices.listen(None)
    notices.say("nobody hears this")  # no error, no output: the library used as a library
