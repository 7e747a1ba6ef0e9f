"""Independent implementations: npm ``canonicalize`` (by an RFC 8785 author) and npm ``jose``.

A signature only one implementation can check proves nothing about interoperability. Here a
Node verifier receives the listing exactly as served, canonicalizes each item itself and
verifies it with ``jose`` against the served key set: no byte of ours is handed to it.
"""

from __future__ import annotations

import json
import struct
import subprocess
from typing import Any, Final

import pytest

from flask_otcauth.client.jcs import canonicalize

from ..node_packages import NodeModules, npm_install
from ..tool_server import ADD, ECHO, tool_server
from .test_jcs import APPENDIX_B, SECTION_3_2_2_INPUT, SECTION_3_2_3_INPUT

PACKAGES: Final = ("jose@5", "canonicalize@2")
# Reads a JSON array of JSON texts; prints one canonical form per line (as a JSON string).
_CANONICALIZE: Final = """
const canonicalize = require("canonicalize");
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  for (const text of JSON.parse(input)) {
    console.log(JSON.stringify(canonicalize(JSON.parse(text))));
  }
});
"""
# Reads {"listing", "keys"}; prints one "<tool id> ok" or "<tool id> <error code>" per item.
_VERIFY: Final = """
const jose = require("jose");
const canonicalize = require("canonicalize");
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const { listing, keys } = JSON.parse(input);
  const keySet = jose.createLocalJWKSet(keys);
  for (const item of listing.items) {
    const [protectedHeader, , signature] = listing.signatures[item.id].split(".");
    const payload = new TextEncoder().encode(canonicalize(item));
    try {
      await jose.flattenedVerify({ protected: protectedHeader, payload, signature }, keySet);
      console.log(item.id + " ok");
    } catch (error) {
      console.log(item.id + " " + error.code);
    }
  }
});
"""


@pytest.fixture(scope="module")
def node() -> NodeModules:
    return npm_install(*PACKAGES, purpose="RFC 8785 and JWS peer")


def _run(node: NodeModules, script: str, request: Any) -> list[str]:
    finished = subprocess.run(  # noqa: S603 - our own script, our own input
        [node.node, "-e", script], input=json.dumps(request), capture_output=True, text=True,
        timeout=60, check=False, env=node.environment())
    assert finished.returncode == 0, finished.stderr[-2000:]
    # Not splitlines(): a canonical form may hold U+2028, which it would split at.
    return finished.stdout.rstrip("\n").split("\n")


def _appendix_b_array() -> str:
    numbers = (repr(struct.unpack(">d", bytes.fromhex(bits))[0]) for bits, _ in APPENDIX_B)
    return "[" + ",".join(numbers) + "]"


INPUTS: Final = [
    SECTION_3_2_2_INPUT,
    SECTION_3_2_3_INPUT,
    _appendix_b_array(),
    json.dumps(ADD),
    json.dumps(ECHO),
    r'{"z": {"\u2028": "line separator", "\u007f": "delete", "": []}, "a": [0.1, -0, 1e-7]}',
    '{"nested": [[[{"b": true, "a": null}]]], "empty": {}, "controls": "\\u0000\\u001f\\b"}',
    # Past 2**53 both sides read the nearest double: 2**53 + 1 and 1e17 spelled as digits.
    '{"big": 9007199254740993, "digits": 100000000000000000, "negative": -18014398509481985}',
]


@pytest.mark.parametrize("text", INPUTS, ids=range(len(INPUTS)))
def test_npm_canonicalize_produces_our_bytes(node: NodeModules, text: str) -> None:
    """RFC 8785 section 3.2: two implementations, one canonical form."""
    (theirs,) = _run(node, _CANONICALIZE, [text])

    assert json.loads(theirs).encode("utf-8") == canonicalize(json.loads(text))


def test_the_example_servers_definitions_canonicalize_alike(node: NodeModules) -> None:
    """The real listing's items, schemas and all, as a platform written in Node sees them."""
    from example_app.tools import default_registry  # noqa: PLC0415 - the example's own tools

    definitions = default_registry().definitions()
    theirs = _run(node, _CANONICALIZE, [json.dumps(item) for item in definitions])

    assert [json.loads(line).encode("utf-8") for line in theirs] == [
        canonicalize(item) for item in definitions]


def test_jose_verifies_every_signature_of_a_served_listing(node: NodeModules) -> None:
    """RFC 7797 section 3 and RFC 7515 appendix F, checked by jose against the served set."""
    server = tool_server()

    lines = _run(node, _VERIFY, {"listing": server.listing(), "keys": server.keys()})

    assert lines == ["Math.Add@1.0.0 ok", "Text.Echo@2.1.0 ok"]


def test_jose_verifies_es256_signatures_too(node: NodeModules, tmp_path: Any) -> None:
    """RFC 7518 section 3.4: an ES256 signature is the 64-byte R || S that jose expects."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    path = tmp_path / "p256.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server = tool_server(OTC_AUTH_TOOL_SIGNING_KEY_FILE=str(path))

    lines = _run(node, _VERIFY, {"listing": server.listing(), "keys": server.keys()})

    assert lines == ["Math.Add@1.0.0 ok", "Text.Echo@2.1.0 ok"]


def test_jose_refuses_a_definition_changed_after_signing(node: NodeModules) -> None:
    """The peer is no rubber stamp: a changed description fails its check as it fails ours."""
    server = tool_server()
    listing = server.listing()
    listing["items"][1]["description"] = "Says back what it hears, and keeps a copy."

    lines = _run(node, _VERIFY, {"listing": listing, "keys": server.keys()})

    assert lines == ["Math.Add@1.0.0 ok", "Text.Echo@2.1.0 ERR_JWS_SIGNATURE_VERIFICATION_FAILED"]
