"""schemathesis against the service's own OpenAPI document, over real HTTP: whatever a caller
sends within or outside the schema, no 5xx, and every response matches what the document says."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import ARTICLES
from tests.service import running_service

EXAMPLES_PER_OPERATION = 40
# Every other built-in check runs (no 5xx, status codes, content types, bodies and headers as
# documented, invalid data refused). This one expects every schema-valid request to succeed, but
# a schema cannot say that a question must hold more than spaces or that an upload must be text.


@pytest.mark.slow
def test_no_input_gets_a_5xx_or_a_response_outside_the_schema(tmp_path: Path) -> None:
    # The service's own copy of the sample: fuzzed uploads and deletes stay in tmp_path.
    with running_service(tmp_path, [ARTICLES], MAX_UPLOAD_BYTES="20000") as service:
        schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
            "POST /search",
            "POST /ask",
            "POST /documents",
            "DELETE /documents/{doc_id}",
            "GET /v1/models",
            "POST /v1/chat/completions",
        }
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            call()
