"""Schemathesis fuzzes the whole app in-process (ASGI) from its own OpenAPI document.

For every operation, with an admin key: no 5xx, status codes, bodies, headers and content types as
documented, unauthenticated calls refused. Bounded: a few examples per operation. With every
role, on schema-valid and schema-invalid data: no 5xx and no invalid request accepted.
(Schemathesis' pytest plugin does not run under pytest 9, so the operations are driven with
Hypothesis here.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from chiptrail.api.auth import AuthConfig
from chiptrail.api.ratelimit import RateLimit
from tests.api.conftest import build_app, make_keys

EXAMPLES_PER_OPERATION = 5
SEMANTIC = [checks.positive_data_acceptance]
"""Cross-field rules (e.g. "a model name or a TPP figure") legitimately answer a schema-valid body
with a documented 422, so "every schema-valid request is accepted" is not asserted."""


REJECTIONS = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]
"""Statuses that refuse an invalid request: schemathesis' defaults plus 413, the answer to a
generated body larger than ``AuthConfig.max_body_bytes`` (refused before it is parsed)."""
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
)


def _summary(exc: BaseException) -> str:
    text = str(exc)
    subs = getattr(exc, "exceptions", ())
    return "; ".join(
        [text.splitlines()[0] if text else type(exc).__name__]
        + [str(e).splitlines()[0] for e in subs]
    )


def test_whole_api_matches_its_openapi(tmp_path: Path) -> None:
    unlimited = RateLimit(rate_per_s=1e6, burst=1_000_000)
    auth = AuthConfig(rate_limit=unlimited, failed_auth_limit=unlimited)
    app = build_app(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path, auth)
    with TestClient(app):
        headers = make_keys(app.state.database).headers("admin")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 5
        tested: list[str] = []
        failures: dict[str, str] = {}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers=headers, excluded_checks=SEMANTIC)

            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
                failures[operation.label] = _summary(exc)
            tested.append(operation.label)
    app.state.database.dispose()
    assert "GET /v1/me" in tested
    assert failures == {}


ROLE_EXAMPLES = 2
"""Per operation, role and mode: bounded for CI (every operation is still called with each role)."""


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    "role", ["admin", "analyst", "vendor_a", "operator_a", "landmark", "auditor"]
)
def test_every_operation_with_every_role(tmp_path: Path, role: str, mode: GenerationMode) -> None:
    """No 5xx for any role, and invalid requests (negative mode) are never accepted: each is
    refused with a 4xx, whether by the role policy (403) or by validation (422)."""
    unlimited = RateLimit(rate_per_s=1e6, burst=1_000_000)
    auth = AuthConfig(rate_limit=unlimited, failed_auth_limit=unlimited)
    app = build_app(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path, auth)
    with TestClient(app):
        headers = make_keys(app.state.database).headers(role)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
        failures: dict[str, str] = {}
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=ROLE_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers=headers, excluded_checks=SEMANTIC)

            try:
                fuzz()
            except Unsatisfiable:  # no parameters or body: no invalid request to make
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
                failures[operation.label] = _summary(exc)
    app.state.database.dispose()
    assert failures == {}
