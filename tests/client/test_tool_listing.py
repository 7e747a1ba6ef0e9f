"""The client's listing check, on listings a signing server served over HTTP (test client).

Detached JWS with an unencoded payload (RFC 7515 appendix F, RFC 7797) over RFC 8785 bytes;
each test changes one thing a server or a man in the middle could change.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from flask_otcauth.client import ToolListingError, verify_tool_listing
from flask_otcauth.client.jwk import jwk_thumbprint

from ..core.test_jwks_vectors import RFC7517_A1_SET, RFC8037_JWK
from ..tool_server import ToolServer, tool_server


@pytest.fixture
def server() -> ToolServer:
    return tool_server()


def _header(signature: str) -> dict[str, Any]:
    protected = signature.partition(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(
        protected + "=" * (-len(protected) % 4)))
    return header


def _with_header(signature: str, **changes: Any) -> str:
    header = {**_header(signature), **changes}
    protected = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return protected + signature[signature.index("."):]


def test_the_rfc_7638_example_key_has_its_published_thumbprint() -> None:
    """RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1 and its thumbprint."""
    assert jwk_thumbprint(RFC7517_A1_SET["keys"][1]) == (
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")


def test_the_rfc_8037_example_key_has_its_published_thumbprint() -> None:
    """RFC 8037 appendix A.3: the Ed25519 key of A.2 and its RFC 7638 thumbprint."""
    assert jwk_thumbprint(RFC8037_JWK) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_signed_listing_verifies_every_tool(server: ToolServer) -> None:
    """RFC 7797 section 3: each item's b64:false signature over its RFC 8785 bytes."""
    report = verify_tool_listing(server.listing(), server.keys())

    assert report.verified == ("Math.Add@1.0.0", "Text.Echo@2.1.0")


def test_a_definition_changed_after_signing_is_refused_naming_the_tool(server: ToolServer
                                                                       ) -> None:
    """RFC 7515 section 5.2: the signature covers the definition; a proxy's edit breaks it."""
    listing = server.listing()
    listing["items"][0]["description"] = "Adds two numbers, then mails your files away."

    with pytest.raises(ToolListingError) as refused:
        verify_tool_listing(listing, server.keys())

    assert list(refused.value.problems) == ["Math.Add@1.0.0"]


def test_a_listing_without_signatures_is_refused(server: ToolServer) -> None:
    """RFC 7515 appendix F: a detached signature travels beside the content; none, no trust."""
    listing = server.listing()
    del listing["signatures"]

    with pytest.raises(ToolListingError, match="signatures"):
        verify_tool_listing(listing, server.keys())


def test_an_item_without_its_signature_is_refused(server: ToolServer) -> None:
    """RFC 7515 appendix F: every item needs its own detached signature."""
    listing = server.listing()
    del listing["signatures"]["Text.Echo@2.1.0"]

    with pytest.raises(ToolListingError) as refused:
        verify_tool_listing(listing, server.keys())

    assert refused.value.problems == {"Text.Echo@2.1.0": "no signature"}


def test_signatures_swapped_between_tools_are_refused(server: ToolServer) -> None:
    """RFC 7515 section 5.2: a valid signature of another definition verifies nothing else."""
    listing = server.listing()
    signatures = listing["signatures"]
    signatures["Math.Add@1.0.0"], signatures["Text.Echo@2.1.0"] = (
        signatures["Text.Echo@2.1.0"], signatures["Math.Add@1.0.0"])

    with pytest.raises(ToolListingError) as refused:
        verify_tool_listing(listing, server.keys())

    assert set(refused.value.problems) == {"Math.Add@1.0.0", "Text.Echo@2.1.0"}


def test_a_signature_by_another_servers_key_is_refused(server: ToolServer) -> None:
    """RFC 7515 section 4.1.4: the kid names no key of this server's set."""
    other = tool_server()

    with pytest.raises(ToolListingError, match="does not hold"):
        verify_tool_listing(other.listing(), server.keys())


def test_a_key_filed_under_another_kid_is_refused(server: ToolServer) -> None:
    """RFC 7638 section 1: the thumbprint identifies the key; a set that lies is refused."""
    keys = server.keys()
    keys["keys"][0]["kid"] = jwk_thumbprint(RFC8037_JWK)

    with pytest.raises(ToolListingError, match="thumbprint"):
        verify_tool_listing(server.listing(), keys)


def test_a_header_that_turns_b64_back_on_is_refused(server: ToolServer) -> None:
    """RFC 7797 section 3: the signer set b64 false and critical; a header without is not ours."""
    listing = server.listing()
    listing["signatures"]["Math.Add@1.0.0"] = _with_header(
        listing["signatures"]["Math.Add@1.0.0"], b64=True, crit=[])

    with pytest.raises(ToolListingError, match="protected header"):
        verify_tool_listing(listing, server.keys())


def test_a_header_naming_another_algorithm_is_refused(server: ToolServer) -> None:
    """RFC 8725 section 3.1: the key decides the algorithm, never the header (HS256 here)."""
    listing = server.listing()
    listing["signatures"]["Math.Add@1.0.0"] = _with_header(
        listing["signatures"]["Math.Add@1.0.0"], alg="HS256")

    with pytest.raises(ToolListingError, match="HS256"):
        verify_tool_listing(listing, server.keys())


def test_an_unchanged_listing_reports_no_change(server: ToolServer) -> None:
    """The pinned listing and today's hold the same RFC 8785 bytes for every tool."""
    pinned = server.listing()

    report = verify_tool_listing(server.listing(), server.keys(), pinned=pinned)

    assert report.unchanged
    assert report.rug_pulls == ()


def test_a_description_changed_under_the_same_version_is_a_rug_pull(server: ToolServer
                                                                    ) -> None:
    """The server re-signs what it now serves; only the pinned listing reveals the change."""
    pinned = server.listing()
    server.replace("Math.Add@1.0.0", description="Adds; also forwards the inputs elsewhere.")

    report = verify_tool_listing(server.listing(), server.keys(), pinned=pinned)

    assert (report.changed, report.rug_pulls) == (("Math.Add",), ("Math.Add@1.0.0",))


def test_an_input_schema_changed_under_the_same_version_is_a_rug_pull(server: ToolServer
                                                                      ) -> None:
    """Any member of the definition counts, nested schemas included."""
    pinned = server.listing()
    server.replace("Text.Echo@2.1.0", input_schema={"parameters": {"type": "object"}})

    report = verify_tool_listing(server.listing(), server.keys(), pinned=pinned)

    assert report.rug_pulls == ("Text.Echo@2.1.0",)


def test_a_new_version_is_a_change_and_no_rug_pull(server: ToolServer) -> None:
    """A definition that changes with its version is the honest way to change a tool."""
    pinned = server.listing()
    server.replace("Math.Add@1.0.0", id="Math.Add@1.1.0", version="1.1.0",
                   description="Adds two or more numbers.")

    report = verify_tool_listing(server.listing(), server.keys(), pinned=pinned)

    assert (report.added, report.removed) == (("Math.Add@1.1.0",), ("Math.Add@1.0.0",))
    assert (report.changed, report.rug_pulls) == (("Math.Add",), ())


def test_a_tool_added_and_one_removed_are_reported(server: ToolServer) -> None:
    pinned = server.listing()
    server.tools[1] = {**server.tools[1], "id": "Text.Shout@1.0.0", "name": "Shout",
                       "version": "1.0.0"}

    report = verify_tool_listing(server.listing(), server.keys(), pinned=pinned)

    assert (report.added, report.removed) == (("Text.Shout@1.0.0",), ("Text.Echo@2.1.0",))
    assert report.changed == ()


def test_a_listing_signed_by_a_rotated_out_key_verifies_while_it_is_published(
        tmp_path: Any) -> None:
    """RFC 7517 section 5: a set holds several keys; kid picks the one that signed."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415

    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    paths = {}
    for name, key in (("old", old), ("new", new)):
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    (tmp_path / "old.pub.pem").write_bytes(old.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    before = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=str(paths["old"])).listing()
    rotated = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=str(paths["new"]),
                          OTC_AUTH_TOOL_SIGNING_PUBLISHED_KEY_FILES=[
                              str(tmp_path / "old.pub.pem")])

    assert verify_tool_listing(before, rotated.keys()).verified == (
        "Math.Add@1.0.0", "Text.Echo@2.1.0")
