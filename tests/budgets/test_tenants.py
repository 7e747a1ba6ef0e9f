"""Tenant isolation through the Flask test client: a credential bound to a tenant reaches
only that tenant's views, refused before the view runs; operator crossings are audited."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flask_otcauth import cross_tenant_access, require_auth

from ..helpers import AUDIENCE, bearer, make_token
from .conftest import ACME_KEY, GLOBEX_KEY, OPS_KEY, build_budget_app, key


def test_a_key_of_one_tenant_reaches_its_own_tenant() -> None:
    response = build_budget_app().test_client().get("/tenants/acme/usage", headers=key(ACME_KEY))

    assert response.status_code == 200
    assert response.json == {"tenant": "acme", "caller": "acme-bot"}


def test_a_key_of_one_tenant_is_refused_another_tenant_before_the_view_runs() -> None:
    app = build_budget_app()

    response = app.test_client().get("/tenants/globex/usage", headers=key(ACME_KEY))

    assert response.status_code == 403
    assert response.json is not None and response.json["error"] == "tenant_mismatch"
    assert app.config["VIEWS_RUN"] == []


@pytest.mark.parametrize(("path", "options"), [
    ("/usage-by-header", {"headers": {"X-Tenant": "globex"}}),
    ("/usage-by-query?tenant=globex", {}),
])
def test_the_tenant_is_read_where_the_view_says(path: str, options: dict[str, Any]) -> None:
    client = build_budget_app().test_client()
    extra = options.get("headers", {})

    own = client.get(path, headers={**key(GLOBEX_KEY), **extra})
    other = client.get(path, headers={**key(ACME_KEY), **extra})

    assert (own.status_code, other.status_code) == (200, 403)


def test_the_tenant_is_read_from_a_json_body_field() -> None:
    client = build_budget_app().test_client()
    body = {"request": {"tenant": "acme"}}

    own = client.post("/usage-by-body", json=body, headers=key(ACME_KEY))
    other = client.post("/usage-by-body", json=body, headers=key(GLOBEX_KEY))

    assert (own.status_code, other.status_code) == (200, 403)


def test_a_request_that_does_not_name_its_tenant_is_400_missing_tenant() -> None:
    response = build_budget_app().test_client().get("/usage-by-header", headers=key(ACME_KEY))

    assert response.status_code == 400
    assert response.json is not None and response.json["error"] == "missing_tenant"
    assert 'the header "X-Tenant"' in response.json["developer_message"]


def test_a_credential_without_a_tenant_is_refused_403_tenant_required() -> None:
    app = build_budget_app()

    response = app.test_client().get("/tenants/acme/usage", headers=key(OPS_KEY))

    assert response.status_code == 403
    assert response.json is not None and response.json["error"] == "tenant_required"
    assert app.config["VIEWS_RUN"] == []


def test_a_jwt_is_bound_to_the_tenant_its_tenant_claim_names() -> None:
    client = build_budget_app(OTC_AUTH_TENANT_CLAIM="org").test_client()
    token = bearer(make_token(aud=AUDIENCE, sub="agent-1", org="globex"))

    own = client.get("/tenants/globex/usage", headers=token)
    other = client.get("/tenants/acme/usage", headers=token)

    assert (own.status_code, other.status_code) == (200, 403)
    assert other.json is not None and other.json["error"] == "tenant_mismatch"


def test_an_operator_credential_crosses_tenants_and_every_crossing_is_audited(
        caplog: pytest.LogCaptureFixture) -> None:
    app = build_budget_app(OTC_AUTH_CROSS_TENANT_CALLERS=["api_key:ops-console"])
    seen: list[tuple[str, str | None]] = []

    def receiver(sender: Any, **extra: Any) -> None:
        seen.append((extra["tenant"], extra["identity"].subject))

    with cross_tenant_access.connected_to(receiver, app), caplog.at_level(logging.WARNING,
                                                                         "flask_otcauth"):
        acme = app.test_client().get("/tenants/acme/usage", headers=key(OPS_KEY))
        globex = app.test_client().get("/tenants/globex/usage", headers=key(OPS_KEY))

    assert (acme.status_code, globex.status_code) == (200, 200)
    assert seen == [("acme", "ops-console"), ("globex", "ops-console")]
    crossings = [r for r in caplog.records if r.getMessage().startswith("cross-tenant access")]
    assert [r.otcauth["tenant"] for r in crossings] == ["acme", "globex"]  # type: ignore[attr-defined]


def test_a_caller_not_listed_as_operator_does_not_cross() -> None:
    app = build_budget_app(OTC_AUTH_CROSS_TENANT_CALLERS=["api_key:someone-else"])

    response = app.test_client().get("/tenants/acme/usage", headers=key(OPS_KEY))

    assert response.status_code == 403


def test_a_tenant_scoped_view_cannot_be_optional() -> None:
    with pytest.raises(ValueError, match="cannot scope a view to a tenant"):
        require_auth(optional=True, tenant_from="view_arg:tenant")


def test_a_tenant_source_of_unknown_kind_is_refused_naming_the_forms() -> None:
    with pytest.raises(ValueError, match="view_arg:<name>, header:<name>"):
        require_auth(tenant_from="cookie:tenant")


def test_a_cross_tenant_entry_without_its_method_is_refused_at_init_app() -> None:
    with pytest.raises(ValueError, match=r"OTC_AUTH_CROSS_TENANT_CALLERS\[0\]"):
        build_budget_app(OTC_AUTH_CROSS_TENANT_CALLERS=["ops-console"])
