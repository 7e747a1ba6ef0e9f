"""``flask otcauth check`` fetches each issuer's discovery and keys and says what it found."""

from __future__ import annotations

import time
from typing import Any

from click.testing import Result

from flask_otcauth.testing import LocalIssuer
from tests.oauth.test_oauth_config import init
from tests.servers import free_port

SECRET = "introspection-secret-never-printed"


def check(*args: str, **settings: Any) -> Result:
    return init(**settings).test_cli_runner().invoke(args=["otcauth", "check", *args])


def test_check_prints_each_key_of_the_issuer(issuer: LocalIssuer) -> None:
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert result.exit_code == 0, result.output
    assert (f"oauth issuer {issuer.issuer}: jwks_uri {issuer.jwks_uri}, keys kept 300 s"
            in result.output)
    for kid, (kty, _) in issuer.private.items():
        assert f"  key kid={kid} kty={kty} alg=-: usable" in result.output
    assert issuer.fetches == 1


def test_check_reports_the_cache_control_lifetime(issuer: LocalIssuer) -> None:
    issuer.cache_control = "public, max-age=600"
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert "keys kept 600 s (Cache-Control max-age 600" in result.output


def test_check_follows_discovery(issuer: LocalIssuer) -> None:
    result = check(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": issuer.issuer}])
    assert f"discovery found jwks_uri {issuer.jwks_uri}" in result.output
    assert f"  key kid={issuer.kid('EC')} kty=EC alg=-: usable" in result.output


def test_check_names_a_skipped_key(issuer: LocalIssuer) -> None:
    issuer.extra_members = [{"kty": "XYZ", "kid": "odd", "alg": "RS256"}]
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert result.exit_code == 0, result.output
    assert "  key kid=odd kty=XYZ alg=RS256: skipped" in result.output


def test_check_fails_on_a_set_without_a_usable_key(issuer: LocalIssuer) -> None:
    issuer.private = {}
    issuer.extra_members = [{"kty": "XYZ", "kid": "odd"}]
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert result.exit_code == 1
    assert f"error: oauth issuer {issuer.issuer}: no usable key" in result.output


def test_check_fails_on_private_members_and_never_prints_them(issuer: LocalIssuer) -> None:
    issuer.extra_members = [{"kty": "oct", "kid": "shared", "k": "c2VjcmV0LWtleS1tYXRlcmlhbA"}]
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()])
    assert result.exit_code == 1
    assert "private or symmetric key material in 1 member(s)" in result.output
    assert "c2VjcmV0LWtleS1tYXRlcmlhbA" not in result.output


def test_check_warns_about_an_unreachable_issuer_within_the_short_timeout() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = check(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": dead, "jwks_uri": f"{dead}/jwks"}])
    assert time.monotonic() - started < 10
    assert result.exit_code == 0, result.output
    assert f"warning: oauth issuer {dead}: its keys could not be fetched" in result.output
    strict = check("--strict", OTC_AUTH_OAUTH_ISSUERS=[{"issuer": dead,
                                                        "jwks_uri": f"{dead}/jwks"}])
    assert strict.exit_code == 1


def test_check_warns_about_a_failed_discovery() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = check(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": dead}])
    assert f"warning: oauth issuer {dead}: its keys could not be fetched (discovery failed" \
        in result.output


def test_check_describes_a_static_set_without_fetching(issuer: LocalIssuer) -> None:
    result = check(OTC_AUTH_OAUTH_ISSUERS=[{"issuer": "https://id.example.com",
                                            "jwks": issuer.jwks()}])
    assert "oauth issuer https://id.example.com: static jwks (never fetched)" in result.output
    assert f"  key kid={issuer.kid('OKP')} kty=OKP alg=-: usable" in result.output
    assert issuer.fetches == 0


def test_check_names_the_introspection_client_never_its_secret(issuer: LocalIssuer) -> None:
    result = check(OTC_AUTH_OAUTH_ISSUERS=[issuer.config()], OTC_AUTH_OAUTH_INTROSPECTION={
        "endpoint": "https://id.example.com/introspect", "client_id": "tools",
        "client_secret": SECRET})
    assert "introspected at https://id.example.com/introspect (RFC 7662) as client tools" \
        in result.output
    assert SECRET not in result.output
