"""schemathesis against the live OpenAPI schema: no 5xx, and every status, content type, header
and body exactly as the schema declares. Positive and negative data, a few examples per operation
(bounded in time); run operation by operation so one report lists every failure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.api.served import ServedApi

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from schemathesis.generation.modes import GenerationMode  # noqa: E402

EXAMPLES = 12
# A schema-valid but unknown cursor is "not one this API issued" (400): opaque cursors cannot be
# generated from the schema, so 400 is an expected answer to valid-looking data.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "429"]}}}
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_conformance(api: ServedApi, mode: GenerationMode) -> None:
    # /v1/events is an endless stream: a checker cannot read its 200 to the end (tested in test_events).
    schema = schemathesis.openapi.from_url(f"{api.url}/v1/openapi.json", config=CONFIG).exclude(path="/v1/events")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        try:
            check()
        except Unsatisfiable:  # no inputs to break (negative mode on an operation without parameters)
            continue
        except Exception as e:  # collect: report every failing operation at once
            failures.append(f"{operation.label}: {e}")
    assert operations >= 10
    assert not failures, "\n\n".join(failures)
