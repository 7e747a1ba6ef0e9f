"""The decisions of the request path, made by the core alone: what counts as a failed attempt,
when an address is locked out, when a caller's budget is spent. No Flask app anywhere."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from flask_otcauth.core import (
    AuthFailure,
    AuthRequest,
    Gate,
    Identity,
    Requirement,
    Setup,
    load_settings,
    own_rate_limits,
)

from ..helpers import API_KEY, AUDIENCE, JWT_SECRET, OTHER_API_KEY, make_token

ADDRESS = "192.0.2.7"
DIGEST = "sha256:" + hashlib.sha256(API_KEY.encode()).hexdigest()


def gate(loader: Any = None, **config: Any) -> Gate:
    settings = load_settings({"OTC_AUTH_METHODS": ["api_key"], "OTC_AUTH_API_KEYS": [
        {"id": "ci-bot", "hash": DIGEST, "scopes": ["tools:list"]}], "TESTING": True, **config},
        has_key_loader=loader is not None)
    return Gate(settings, Setup(key_loader=loader), own_rate_limits(settings))


def request(key: str | None = API_KEY, *, address: str = ADDRESS,
            secure: bool = True) -> AuthRequest:
    headers = {"otc-api-key": key} if key is not None else {}
    return AuthRequest(header=lambda name: headers.get(name.lower()), client_address=address,
                       secure=secure)


ANY_CALLER = Requirement()


def attempt(checked: Gate, sent: AuthRequest, requirement: Requirement = ANY_CALLER
            ) -> Identity | AuthFailure | None:
    """What the path answers: the identity, or the refusal it raised."""
    try:
        identity = checked.verify(sent, checked.methods, optional=requirement.optional,
                                  now=time.time())
        checked.admit(identity, requirement, sent)
    except AuthFailure as failure:
        return failure
    return identity


def code(outcome: Identity | AuthFailure | None) -> str:
    return outcome.code if isinstance(outcome, AuthFailure) else "admitted"


def test_a_valid_key_is_admitted_with_its_record_s_identity() -> None:
    outcome = attempt(gate(), request())
    assert isinstance(outcome, Identity)
    assert (outcome.method, outcome.subject) == ("api_key", "ci-bot")


def test_refused_keys_lock_the_address_out_after_the_failure_limit() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="3/minute")
    codes = [code(attempt(checked, request(OTHER_API_KEY))) for _ in range(4)]
    assert codes == ["invalid_api_key"] * 3 + ["too_many_failed_attempts"]


def test_a_locked_out_address_is_refused_even_with_a_valid_key() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    for _ in range(2):
        attempt(checked, request(OTHER_API_KEY))
    assert code(attempt(checked, request())) == "too_many_failed_attempts"


def test_another_address_is_not_locked_out_by_the_first_one_s_failures() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    for _ in range(2):
        attempt(checked, request(OTHER_API_KEY))
    assert code(attempt(checked, request(address="198.51.100.1"))) == "admitted"


def test_missing_credentials_count_as_failed_attempts() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    codes = [code(attempt(checked, request(None))) for _ in range(3)]
    assert codes == ["missing_credentials"] * 2 + ["too_many_failed_attempts"]


def test_a_failing_key_store_is_not_counted_as_an_attempt() -> None:
    def broken_loader(digest: str) -> None:
        raise ConnectionError("database down")

    checked = gate(broken_loader, OTC_AUTH_FAILURE_RATELIMIT="2/minute", OTC_AUTH_API_KEYS=[])
    codes = [code(attempt(checked, request())) for _ in range(4)]
    assert codes == ["key_lookup_unavailable"] * 4


def test_each_accepted_request_spends_the_caller_s_budget() -> None:
    checked = gate(OTC_AUTH_RATELIMIT="3/minute")
    codes = [code(attempt(checked, request())) for _ in range(4)]
    assert codes == ["admitted"] * 3 + ["rate_limited"]


def test_the_budget_follows_the_caller_not_its_address() -> None:
    checked = gate(OTC_AUTH_RATELIMIT="2/minute")
    first, second = request(address="192.0.2.1"), request(address="192.0.2.2")
    assert [code(attempt(checked, sent)) for sent in (first, second, first)] == [
        "admitted", "admitted", "rate_limited"]


def test_a_missing_scope_is_403_and_not_an_attempt() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    needs_call = Requirement(scopes=("tools:call",))
    assert [code(attempt(checked, request(), needs_call)) for _ in range(2)] == [
        "insufficient_scope"] * 2
    assert code(attempt(checked, request())) == "admitted"


def test_a_locked_out_address_learns_nothing_from_a_scope_refusal() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    attempt(checked, request(OTHER_API_KEY))
    needs_call = Requirement(scopes=("tools:call",))
    assert code(attempt(checked, request(), needs_call)) == "too_many_failed_attempts"


def test_credentials_over_plain_http_are_refused_before_they_are_checked() -> None:
    checked = gate(OTC_AUTH_REQUIRE_HTTPS=True, OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    codes = [code(attempt(checked, request(OTHER_API_KEY, secure=False))) for _ in range(3)]
    assert codes == ["https_required"] * 3  # never counted: the key was not even looked at


def test_an_anonymous_caller_of_an_optional_path_spends_its_address_s_budget() -> None:
    checked = gate(OTC_AUTH_RATELIMIT="2/minute")
    optional = Requirement(optional=True)
    codes = [code(attempt(checked, request(None), optional)) for _ in range(3)]
    assert codes == ["admitted"] * 2 + ["rate_limited"]


def test_with_authentication_off_requests_are_counted_but_nobody_is_locked_out() -> None:
    settings = load_settings({"OTC_AUTH_METHODS": ["none"], "OTC_AUTH_RATELIMIT": "2/minute"})
    checked = Gate(settings, Setup(), own_rate_limits(settings))
    codes = [code(attempt(checked, request(OTHER_API_KEY))) for _ in range(3)]
    assert codes == ["admitted"] * 2 + ["rate_limited"]


def test_a_view_may_narrow_the_methods_but_not_name_a_disabled_one() -> None:
    checked = gate()
    assert checked.methods_for(Requirement(methods=("api_key",))) == ("api_key",)
    with pytest.raises(ValueError, match="does not enable"):
        checked.methods_for(Requirement(methods=("jwt",)))


# Verified refusals: the credential proved its holder, and was refused all the same ----------

OTHER_DIGEST = "sha256:" + hashlib.sha256(OTHER_API_KEY.encode()).hexdigest()


def rotated_gate(**config: Any) -> Gate:
    """ci-bot's old key (API_KEY) expired an hour ago; its successor (OTHER_API_KEY) is valid."""
    return gate(OTC_AUTH_API_KEYS=[
        {"id": "ci-bot", "hash": DIGEST, "expires_at": time.time() - 3600},
        {"id": "ci-bot", "hash": OTHER_DIGEST}], **config)


def test_a_verified_refusal_carries_its_caller_and_counts_as_no_failed_attempt() -> None:
    outcome = attempt(rotated_gate(), request(API_KEY))
    assert isinstance(outcome, AuthFailure)
    assert (outcome.code, outcome.verified, outcome.caller, outcome.counts_as_failure) == (
        "invalid_api_key", True, "api_key:ci-bot", False)


def test_an_expired_key_never_locks_its_holder_s_address_out() -> None:
    checked = rotated_gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    codes = [code(attempt(checked, request(API_KEY))) for _ in range(5)]
    assert codes == ["invalid_api_key"] * 5
    assert code(attempt(checked, request(OTHER_API_KEY))) == "admitted"


def test_verified_refusals_spend_the_caller_s_own_budget() -> None:
    checked = rotated_gate(OTC_AUTH_RATELIMIT="3/minute")
    codes = [code(attempt(checked, request(API_KEY))) for _ in range(4)]
    assert codes == ["invalid_api_key"] * 3 + ["rate_limited"]
    assert code(attempt(checked, request(OTHER_API_KEY))) == "rate_limited"  # one ci-bot budget


def test_a_disabled_key_is_revoked_so_it_counts_as_a_failed_attempt() -> None:
    checked = gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute", OTC_AUTH_API_KEYS=[
        {"id": "ci-bot", "hash": DIGEST, "disabled": True}])
    codes = [code(attempt(checked, request(API_KEY))) for _ in range(3)]
    assert codes == ["invalid_api_key"] * 2 + ["too_many_failed_attempts"]


def test_a_locked_out_address_learns_nothing_from_a_verified_refusal() -> None:
    """A 401 "expired" where guesses get 429 would confirm a guessed secret."""
    checked = rotated_gate(OTC_AUTH_FAILURE_RATELIMIT="1/minute")
    attempt(checked, request("a-guess-" + "q" * 40))
    assert code(attempt(checked, request(API_KEY))) == "too_many_failed_attempts"


def test_a_missing_scope_spends_the_caller_s_budget() -> None:
    checked = gate(OTC_AUTH_RATELIMIT="2/minute")
    needs_call = Requirement(scopes=("tools:call",))
    assert [code(attempt(checked, request(), needs_call)) for _ in range(2)] == [
        "insufficient_scope"] * 2
    assert code(attempt(checked, request())) == "rate_limited"


def jwt_gate(**config: Any) -> Gate:
    settings = load_settings({"OTC_AUTH_METHODS": ["jwt"], "OTC_AUTH_JWT_SECRET": JWT_SECRET,
                              "OTC_AUTH_JWT_AUDIENCES": [AUDIENCE], "TESTING": True, **config})
    return Gate(settings, Setup(), own_rate_limits(settings))


def bearer_request(token: str) -> AuthRequest:
    return AuthRequest(header=lambda name: f"Bearer {token}" if name == "Authorization" else None,
                       client_address=ADDRESS)


def test_expired_tokens_never_lead_to_too_many_failed_attempts() -> None:
    checked = jwt_gate(OTC_AUTH_FAILURE_RATELIMIT="20/minute")
    expired = [code(attempt(checked, bearer_request(make_token(ttl=-5 - n, sub="platform"))))
               for n in range(30)]
    assert expired == ["invalid_token"] * 30
    assert code(attempt(checked, bearer_request(make_token(sub="platform")))) == "admitted"


def test_expired_tokens_spend_their_subject_s_budget() -> None:
    checked = jwt_gate(OTC_AUTH_RATELIMIT="5/minute")
    for n in range(5):
        attempt(checked, bearer_request(make_token(ttl=-5 - n, sub="platform")))
    assert code(attempt(checked, bearer_request(make_token(sub="platform")))) == "rate_limited"
    assert code(attempt(checked, bearer_request(make_token(sub="another")))) == "admitted"


def test_a_token_with_a_foreign_aud_is_charged_to_its_subject() -> None:
    outcome = attempt(jwt_gate(), bearer_request(make_token(sub="platform", aud="elsewhere")))
    assert isinstance(outcome, AuthFailure)
    assert (outcome.verified, outcome.caller) == (True, "jwt:platform")


def test_a_token_with_a_wrong_signature_is_a_failed_attempt() -> None:
    checked = jwt_gate(OTC_AUTH_FAILURE_RATELIMIT="2/minute")
    forged = make_token("a-secret-the-server-never-had-" + "z" * 20, sub="platform")
    codes = [code(attempt(checked, bearer_request(forged))) for _ in range(3)]
    assert codes == ["invalid_token"] * 2 + ["too_many_failed_attempts"]
