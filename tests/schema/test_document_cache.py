"""The parse/validation cache is bounded by the memory its entries hold, not by their
number, and keeps no failure of a large document."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest

from schema.api import schema
from schema.executor import Executor
from server.config import Settings


def executor(cache_bytes: int = 4 * 2**20) -> Executor:
    return Executor(schema._schema, Settings(_env_file=None, query_cache_bytes=cache_bytes))


def unknown_fields(seed: int, count: int, pad: int = 0) -> str:
    """Every field a validation error."""
    return "{ " + " ".join(f"f{seed}_{i}{'x' * pad}" for i in range(count)) + " }"


def aliased(seed: int, count: int) -> str:
    return "{ " + " ".join(f"a{seed}_{i}: __typename" for i in range(min(count, 30))) + " }"


def repeated_me(seed: int, count: int) -> str:
    return (
        "{ "
        + " ".join(f"m{i}: me {{ id }}" for i in range(min(count, 29)))
        + f" s{seed}: __typename }}"
    )


def test_failures_of_large_documents_are_not_kept() -> None:
    cache_owner = executor()

    for seed in range(30):
        prepared = cache_owner.prepare(unknown_fields(seed, 450, pad=32))  # 18 KB each
        assert prepared.errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}

    assert len(cache_owner.cache) == 0
    assert cache_owner.cache.bytes == 0


def test_a_small_failure_is_kept_so_a_repeat_costs_nothing() -> None:
    cache_owner = executor()
    query = "{ nosuchfield }"

    first = cache_owner.prepare(query)

    assert first.errors and query in cache_owner.cache
    assert cache_owner.prepare(query) is first


def test_the_cache_stays_within_its_byte_budget_and_keeps_the_recently_used() -> None:
    budget = 2 * 2**20
    cache_owner = executor(budget)
    favourite = aliased(-1, 30)
    cache_owner.prepare(favourite)

    for seed in range(150):
        cache_owner.prepare(aliased(seed, 30))
        cache_owner.prepare(favourite)
        assert cache_owner.cache.bytes <= budget

    assert favourite in cache_owner.cache
    assert aliased(0, 30) not in cache_owner.cache  # evicted, least recently used
    assert 0 < len(cache_owner.cache) < 150
    assert cache_owner.cache.bytes == sum(cache_owner.cache.sizes())


def test_a_document_larger_than_a_share_of_the_budget_is_answered_but_not_kept() -> None:
    cache_owner = executor(256 * 1024)
    query = repeated_me(1, 30)  # about 100 KB accounted, more than a sixteenth

    prepared = cache_owner.prepare(query)

    assert not prepared.errors
    assert query not in cache_owner.cache
    assert cache_owner.cache.bytes == 0


@pytest.mark.parametrize(
    "build",
    [
        lambda seed: unknown_fields(seed, 8),
        lambda seed: unknown_fields(seed, 10),
        lambda seed: aliased(seed, 30),
        lambda seed: repeated_me(seed, 30),
        lambda seed: "{ " + f"a{seed}: __typename" + " }",
        lambda seed: (
            f'{{ events(first: 5, search: "x{seed}") {{ edges {{ node {{ id title }} }} }} }}'
        ),
        lambda seed: f"{{ me {{ id }} }} {seed}",  # a parse failure
    ],
    ids=["few-errors", "many-errors", "aliases", "me", "tiny", "arguments", "parse-failure"],
)
def test_the_accounted_bytes_are_no_less_than_what_the_entries_really_hold(
    build: Callable[[int], str],
) -> None:
    cache_owner = executor(64 * 2**20)
    cache_owner.prepare(build(-1))  # one-time allocations of the validator are not entries
    queries = [build(seed) for seed in range(20)]
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for query in queries:
        cache_owner.prepare(query)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert len(cache_owner.cache) == 21
    assert cache_owner.cache.bytes >= after - before
