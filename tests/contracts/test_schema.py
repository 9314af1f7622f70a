"""schemathesis against `/v1/pool/contracts` with the pool attached (its own scripted farm): no 5xx,
every answer as the schema declares, for valid and invalid input, with an operator's control key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.helpers.nodeproc import NodeProcess

from .served import Site, site

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from schemathesis.generation.modes import GenerationMode  # noqa: E402

CONFIG = schemathesis.Config.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]}}}
)


@pytest.fixture(scope="module")
def own_site(node: NodeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site(node, tmp_path_factory.mktemp("cschema"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_contracts_api_conforms(own_site: Site, mode: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{own_site.api.url}/v1/openapi.json", config=CONFIG).include(
        path_regex="^/v1/pool/contracts")
    headers = {"Authorization": f"Bearer {own_site.control}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            check()
        except Unsatisfiable:
            continue
        except Exception as e:
            failures.append(f"{operation.label}: {e}")
    assert operations >= 12
    assert not failures, "\n\n".join(failures)
