"""The per-key submission limit is set from the environment at start-up."""

from __future__ import annotations

import pytest

from chiptrail.api.app import auth_from_env
from chiptrail.errors import InvalidInput


def test_rate_limit_from_env() -> None:
    assert auth_from_env({}).rate_limit.rate_per_s == 50.0
    config = auth_from_env(
        {"CHIPTRAIL_RATE_LIMIT_PER_S": "5000", "CHIPTRAIL_RATE_LIMIT_BURST": "9"}
    )
    assert (config.rate_limit.rate_per_s, config.rate_limit.burst) == (5000.0, 9)


@pytest.mark.parametrize("value", ["fast", "0", "-1"], ids=["not a number", "zero", "negative"])
def test_bad_rate_limit_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        auth_from_env({"CHIPTRAIL_RATE_LIMIT_PER_S": value})


def test_token_cache_trusts_a_token_for_its_ttl_only() -> None:
    from chiptrail.api.auth import TokenCache
    from chiptrail.service.auth import Caller, Role

    now = [100.0]
    cache = TokenCache(2.0, lambda: now[0])
    caller = Caller(key_id="k1", role=Role.VENDOR, party_id="p")
    assert cache.get("ctk_k1_secret") is None
    cache.put("ctk_k1_secret", caller)
    assert cache.get("ctk_k1_secret") == caller
    assert cache.get("ctk_k1_other") is None  # another secret is not the cached one
    now[0] += 2.5
    assert cache.get("ctk_k1_secret") is None  # a revocation shows after at most ttl_s
    off = TokenCache(0.0, lambda: now[0])
    off.put("ctk_k1_secret", caller)
    assert off.get("ctk_k1_secret") is None
    assert auth_from_env({"CHIPTRAIL_AUTH_CACHE_S": "2"}).token_cache_s == 2.0
    with pytest.raises(InvalidInput):
        auth_from_env({"CHIPTRAIL_AUTH_CACHE_S": "600"})
