"""The contracts pages over real HTTP: the operator's view (capacity gauge, contracts, journal),
the operator's view of a customer, and a customer's own page (its key only)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from hashforge.services.keys import Scope

from .served import Site


@pytest.fixture()
def http(served: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.api.url, timeout=30) as c:
        yield c


def test_operator_page(served: Site, http: httpx.Client) -> None:
    r = http.get("/contracts")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<a href="/contracts" aria-current="page">Contracts</a>' in html
    assert re.search(r'<meter id="capacity-gauge" min="0" max="[0-9.e+]+"[^>]* value="0"', html)
    rows = re.findall(r'<tr data-contract="(\d+)">', html)
    assert rows[:2] == [str(served.alice_contract), str(served.bob_contract)]  # oldest first
    assert html.count("<code>block:") == 4  # the journal: one row per block period
    assert 'href="/contracts/customers/alice"' in html


def test_customer_pages(served: Site, http: httpx.Client) -> None:
    _, token = served.api.keys.create("alice-web", frozenset({Scope.CUSTOMER}), customer="alice")
    mine = http.get("/contracts/me", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    assert "Your contracts" in mine.text and f'id="contract-{served.alice_contract}"' in mine.text
    assert f'id="contract-{served.bob_contract}"' not in mine.text
    assert http.get("/contracts/me").status_code == 401
    assert http.get("/contracts", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert http.get("/contracts/customers/bob", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    bob = http.get("/contracts/customers/bob")
    assert bob.status_code == 200 and "Customer Bob" in bob.text and f'id="contract-{served.bob_contract}"' in bob.text
    assert http.get("/contracts/customers/nobody").status_code == 404
