"""Token buckets: spending, refilling, and a table that a key-inventing caller cannot grow."""

from __future__ import annotations

from chiptrail.api.ratelimit import RateLimit, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_a_bucket_empties_and_refills() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate_per_s=1.0, burst=2), clock)
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == 1.0
    clock.now_s = 1.0
    assert buckets.peek("k") == 0.0
    assert buckets.take("k") == 0.0


def test_invented_keys_do_not_grow_the_table_past_its_bound() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate_per_s=0.001, burst=1), clock, max_keys=100)
    for i in range(10_000):
        buckets.take(f"addr-{i}")
    assert len(buckets) == 100


def test_refilled_buckets_go_first_and_an_empty_recent_one_stays() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate_per_s=1.0, burst=1), clock, max_keys=3)
    buckets.take("old-1")
    buckets.take("old-2")
    clock.now_s = 10.0  # old-1 and old-2 have refilled
    buckets.take("attacker")
    assert buckets.take("attacker") > 0
    buckets.take("new-1")  # table full: the refilled buckets are dropped, not the attacker's
    assert len(buckets) == 2
    assert buckets.peek("attacker") > 0


def test_when_no_bucket_has_refilled_the_oldest_is_dropped() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate_per_s=0.001, burst=1), clock, max_keys=2)
    buckets.take("a")
    clock.now_s = 1.0
    buckets.take("b")
    clock.now_s = 2.0
    buckets.take("c")
    assert len(buckets) == 2
    assert buckets.peek("b") > 0
    assert buckets.peek("c") > 0
    assert buckets.peek("a") == 0.0  # forgotten: a full bucket again
