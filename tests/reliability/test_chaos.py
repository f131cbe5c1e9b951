"""Chaos at CI size: 200 flags and 200 links under every fault at once, three seeds.

See ``chaos.py`` for what one run does and checks; ``python -m tests.reliability.chaos``
runs it at full size (1,000 flags, 2,000 links). The three seeds run at the same time,
each with its own emulator in this process and its applies as child processes: most of
a run is spent waiting out 429s and stalls, so they overlap well.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .chaos import Figures, chaos_run, table

SEEDS = (1, 2, 3)
FLAGS, LINKS = 200, 200


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Figures]:
    def one(seed: int) -> Figures:
        workdir = tmp_path_factory.mktemp(f"chaos-{seed}")
        return chaos_run(workdir, flags=FLAGS, links=LINKS, seed=seed)

    with ThreadPoolExecutor(len(SEEDS)) as pool:
        return dict(zip(SEEDS, pool.map(one, SEEDS), strict=True))


@pytest.mark.parametrize("seed", SEEDS)
def test_apply_under_every_fault_creates_each_flag_and_link_exactly_once(
    chaos: dict[int, Figures], seed: int
) -> None:
    figures = chaos[seed]
    assert figures.problems() == [], table([figures])
    assert figures.commits == figures.declared == FLAGS + LINKS
    assert figures.duplicates == 0
    assert figures.conflicts == 0  # no create was sent blind after a fault lost its answer
    assert figures.again_posts == 0
    assert figures.clones > 0  # clones are created with ?clone=, each once
    assert figures.clone_commits == figures.clones


def test_every_fault_was_met(chaos: dict[int, Figures]) -> None:
    results = list(chaos.values())
    names = ("throttled", "server_errors", "drops", "stalls", "retries", "timeouts")
    for name in (*names, "retry_after_429s", "reset_429s"):
        assert sum(getattr(f, name) for f in results) > 0, f"no {name}:\n{table(results)}"
    for f in results:
        # Every 429 said when to come back, one way or the other, and every stall held its
        # answer past the client's timeout, which gave up on it.
        assert f.retry_after_429s + f.reset_429s == f.throttled, table([f])
        assert f.timeouts >= f.stalls, table([f])
    # A POST is sent again only after a 429 or 5xx (nothing was stored), or after a drop or
    # a stall once a look found nothing: never more often than faults hit.
    for f in results:
        assert f.posts - f.commits <= f.throttled + f.server_errors, table([f])
