"""Call budgets through the Flask test client: exactly N units per window, one 429 shape,
the remaining budget in the RateLimit fields (draft-ietf-httpapi-ratelimit-headers-09)."""

from __future__ import annotations

import math
import time

import pytest

from flask_otcauth import OTCAuthConfigError
from flask_otcauth.core.storage import RedisStorage

from ..helpers import AUDIENCE, bearer, make_token
from .conftest import ACME_KEY, GLOBEX_KEY, OPS_KEY, build_budget_app, call, key, record

DAY = 86_400


def test_a_key_record_budget_admits_exactly_its_calls_then_429_budget_exhausted() -> None:
    client = build_budget_app(ops={"budget": 3}).test_client()

    statuses = [client.post("/tools/call", json=call(), headers=key(OPS_KEY)).status_code
                for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    refused = client.post("/tools/call", json=call(), headers=key(OPS_KEY))
    assert refused.json is not None and refused.json["error"] == "budget_exhausted"
    assert set(refused.json) == {"error", "message", "developer_message"}


def test_an_exhausted_budget_retries_after_the_window_resets() -> None:
    """Windows are aligned to the epoch: a day's budget comes back at 00:00 UTC."""
    client = build_budget_app(ops={"budget": 1}).test_client()
    client.post("/tools/call", json=call(), headers=key(OPS_KEY))

    refused = client.post("/tools/call", json=call(), headers=key(OPS_KEY))
    until_midnight = DAY - time.time() % DAY

    assert refused.status_code == 429
    assert abs(int(refused.headers["Retry-After"]) - math.ceil(until_midnight)) <= 1


def test_every_response_to_a_budgeted_caller_carries_ratelimit_and_policy() -> None:
    """draft-ietf-httpapi-ratelimit-headers-09 sections 2 and 3: a list of quota policy items
    (q quota, w window) and of service limit items (r remaining, t seconds to reset)."""
    client = build_budget_app(ops={"budget": 2}).test_client()

    first = client.post("/tools/call", json=call(), headers=key(OPS_KEY))
    second = client.post("/tools/call", json=call(), headers=key(OPS_KEY))
    third = client.post("/tools/call", json=call(), headers=key(OPS_KEY))

    assert first.headers["RateLimit-Policy"] == f'"budget";q=2;w={DAY}'
    assert first.headers["RateLimit"].startswith('"budget";r=1;t=')
    assert second.headers["RateLimit"].startswith('"budget";r=0;t=')
    assert third.status_code == 429
    assert third.headers["RateLimit"].startswith('"budget";r=0;t=')
    reset = int(third.headers["RateLimit"].rpartition("t=")[2])
    assert reset == int(third.headers["Retry-After"])


def test_an_unbudgeted_caller_gets_no_ratelimit_fields() -> None:
    response = build_budget_app().test_client().post("/tools/call", json=call(),
                                                     headers=key(OPS_KEY))

    assert response.status_code == 200
    assert "RateLimit" not in response.headers and "RateLimit-Policy" not in response.headers


def test_the_budget_is_distinct_from_the_rate_limit() -> None:
    client = build_budget_app(ops={"budget": 1}, OTC_AUTH_RATELIMIT="2/minute").test_client()

    answers = [client.post("/tools/call", json=call(), headers=key(OPS_KEY)).json
               for _ in range(3)]

    assert [answer.get("error") for answer in answers if answer] == [
        None, "budget_exhausted", "rate_limited"]


def test_a_token_claim_budget_is_keyed_on_the_subject_not_the_token() -> None:
    """A re-minted token (another jti, another exp) spends the same budget."""
    client = build_budget_app(OTC_AUTH_BUDGET_CLAIM="token_budget").test_client()

    statuses = [client.post("/tools/call", json=call(), headers=bearer(make_token(
        aud=AUDIENCE, sub="agent-7", token_budget=2, jti=f"t-{n}"))).status_code
        for n in range(3)]

    assert statuses == [200, 200, 429]


def test_a_rotated_key_of_the_same_record_id_spends_the_same_budget() -> None:
    """Two records of one id (rotation with overlap): one holder, one budget."""
    client = build_budget_app(records=[record(OPS_KEY, "ops-console", budget=2),
                                       record(GLOBEX_KEY, "ops-console", budget=2)]).test_client()

    statuses = [client.post("/tools/call", json=call(), headers=key(value)).status_code
                for value in (OPS_KEY, GLOBEX_KEY, OPS_KEY)]

    assert statuses == [200, 200, 429]


def test_a_token_without_the_budget_claim_has_no_budget_of_its_own() -> None:
    client = build_budget_app(OTC_AUTH_BUDGET_CLAIM="token_budget").test_client()

    response = client.post("/tools/call", json=call(),
                           headers=bearer(make_token(aud=AUDIENCE, sub="agent-7")))

    assert response.status_code == 200 and "RateLimit" not in response.headers


def test_a_budget_claim_that_is_no_whole_number_refuses_the_token() -> None:
    client = build_budget_app(OTC_AUTH_BUDGET_CLAIM="token_budget").test_client()

    response = client.post("/tools/call", json=call(), headers=bearer(make_token(
        aud=AUDIENCE, sub="agent-7", token_budget="lots")))

    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "invalid_token"


def test_a_tenant_budget_is_shared_by_the_tenant_and_by_no_one_else() -> None:
    app = build_budget_app(OTC_AUTH_TENANT_BUDGETS={"acme": 2, "globex": 2},
                           OTC_AUTH_JWT_AUDIENCES=[AUDIENCE], OTC_AUTH_TENANT_CLAIM="tenant")
    client = app.test_client()
    acme_token = bearer(make_token(aud=AUDIENCE, sub="agent-1", tenant="acme"))

    acme = [client.post("/tools/call", json=call(), headers=headers).status_code
            for headers in (key(ACME_KEY), acme_token, key(ACME_KEY))]
    globex = client.post("/tools/call", json=call(), headers=key(GLOBEX_KEY))

    assert acme == [200, 200, 429]
    assert globex.status_code == 200
    assert globex.headers["RateLimit"].startswith('"tenant";r=1;')


def test_the_any_tenant_entry_gives_each_tenant_its_own_budget() -> None:
    client = build_budget_app(OTC_AUTH_TENANT_BUDGETS={"*": 1}).test_client()

    statuses = [client.post("/tools/call", json=call(), headers=key(tenant_key)).status_code
                for tenant_key in (ACME_KEY, GLOBEX_KEY, ACME_KEY)]

    assert statuses == [200, 200, 429]


def test_a_call_needs_room_in_both_its_own_and_its_tenant_s_budget() -> None:
    client = build_budget_app(acme={"budget": 5}, OTC_AUTH_TENANT_BUDGETS={"acme": 1}).test_client()

    first = client.post("/tools/call", json=call(), headers=key(ACME_KEY))
    second = client.post("/tools/call", json=call(), headers=key(ACME_KEY))

    assert first.headers["RateLimit-Policy"] == f'"budget";q=5;w={DAY}, "tenant";q=1;w={DAY}'
    assert second.status_code == 429
    assert "tenant's budget has 0 of 1" in second.json["developer_message"]  # type: ignore[index]


def test_a_tool_costs_what_the_tool_costs_setting_says() -> None:
    client = build_budget_app(ops={"budget": 10},
                              OTC_AUTH_TOOL_COSTS={"LLM.Complete": 6, "Math.*": 2}).test_client()

    costly = client.post("/tools/call", json=call("LLM.Complete@2.0.0"), headers=key(OPS_KEY))
    cheap = client.post("/tools/call", json=call("Math.Add@1.0.0"), headers=key(OPS_KEY))
    too_costly = client.post("/tools/call", json=call("LLM.Complete@2.0.0"),
                             headers=key(OPS_KEY))

    assert costly.headers["RateLimit"].startswith('"budget";r=4;')
    assert cheap.headers["RateLimit"].startswith('"budget";r=2;')
    assert too_costly.status_code == 429  # 6 does not fit in the 2 left
    assert "costs 6" in too_costly.json["developer_message"]  # type: ignore[index]


def test_a_reported_cost_overdraws_without_refusing_and_the_next_call_is_refused() -> None:
    app = build_budget_app(ops={"budget": 5})
    client = app.test_client()

    expensive = client.post("/tools/call", json=call(measured_cost=9), headers=key(OPS_KEY))
    after = client.post("/tools/call", json=call(), headers=key(OPS_KEY))

    assert expensive.status_code == 200  # its work was done: never refused after it
    assert expensive.headers["RateLimit"].startswith('"budget";r=0;')
    assert after.status_code == 429
    assert app.config["VIEWS_RUN"] == ["call"]


def test_a_reported_cost_below_the_charge_gives_the_difference_back() -> None:
    client = build_budget_app(ops={"budget": 10}, OTC_AUTH_TOOL_COSTS={"*": 4}).test_client()

    response = client.post("/tools/call", json=call(measured_cost=1), headers=key(OPS_KEY))

    assert response.headers["RateLimit"].startswith('"budget";r=9;')


def test_a_view_that_costs_nothing_answers_an_exhausted_caller() -> None:
    client = build_budget_app(ops={"budget": 1}).test_client()
    client.post("/tools/call", json=call(), headers=key(OPS_KEY))

    free = client.get("/free", headers=key(OPS_KEY))

    assert free.status_code == 200
    assert free.headers["RateLimit"].startswith('"budget";r=0;')


def test_a_budget_store_that_does_not_answer_refuses_503_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = build_budget_app(ops={"budget": 5})
    storage = RedisStorage.from_uri("redis://127.0.0.1:1/0", timeout=0.05)
    monkeypatch.setattr(app.extensions["otcauth"].states[id(app)].gate.budgets, "_storage",
                        storage)

    response = app.test_client().post("/tools/call", json=call(), headers=key(OPS_KEY))

    assert response.status_code == 503
    assert response.json is not None and response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_the_budget_fallback_allow_lets_calls_in_uncounted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = build_budget_app(ops={"budget": 5}, OTC_AUTH_BUDGET_FALLBACK="allow")
    storage = RedisStorage.from_uri("redis://127.0.0.1:1/0", timeout=0.05)
    monkeypatch.setattr(app.extensions["otcauth"].states[id(app)].gate.budgets, "_storage",
                        storage)

    response = app.test_client().post("/tools/call", json=call(), headers=key(OPS_KEY))

    assert response.status_code == 200 and "RateLimit" not in response.headers


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("OTC_AUTH_TENANT_BUDGETS", {"acme": "lots"}, "OTC_AUTH_TENANT_BUDGETS['acme']"),
    ("OTC_AUTH_TOOL_COSTS", {"LLM.Complete": -1}, "OTC_AUTH_TOOL_COSTS['LLM.Complete']"),
    ("OTC_AUTH_BUDGET_WINDOW", "1d", "OTC_AUTH_BUDGET_WINDOW"),
    ("OTC_AUTH_BUDGET_FALLBACK", "open", "OTC_AUTH_BUDGET_FALLBACK"),
])
def test_a_wrong_budget_setting_is_refused_at_init_app_naming_the_key(
        setting: str, value: object, named: str) -> None:
    with pytest.raises(OTCAuthConfigError, match=named.replace("[", r"\[")):
        build_budget_app(**{setting: value})


def test_a_key_record_budget_that_is_no_whole_number_is_refused_naming_the_record() -> None:
    with pytest.raises(OTCAuthConfigError, match=r'id "ops-console"\)\.budget'):
        build_budget_app(ops={"budget": 2.5})
