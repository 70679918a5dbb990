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
