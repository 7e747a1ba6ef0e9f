"""The guessability estimate behind ``check``'s low-entropy warning: weak shapes are seen,
random secrets never are, and the description holds two numbers, not the secret."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from flask_otcauth.core.strength import WEAK_BELOW_BITS, strength

WEAK = {
    "one character": "a" * 32,
    "two characters alternating": "ab" * 16,
    "an alphabet in sequence": "abcdefghijklmnopqrstuvwxyzabcdef",
    "hex digits in sequence": "0123456789abcdef" * 2,
    "a word and digits repeated": "password1234password1234password",
}


@pytest.mark.parametrize("secret", WEAK.values(), ids=WEAK.keys())
def test_a_secret_of_32_bytes_that_repeats_or_runs_in_sequence_is_weak(secret: str) -> None:
    assert len(secret) >= 32  # the length rule lets each of them through
    assert strength(secret.encode()).weak


@pytest.mark.parametrize("make", [
    lambda: secrets.token_hex(16),
    lambda: secrets.token_urlsafe(24),
    lambda: secrets.token_urlsafe(48),
], ids=["token_hex(16)", "token_urlsafe(24)", "token_urlsafe(48)"])
def test_random_secrets_of_32_characters_or_more_are_never_weak(make: Callable[[], str]) -> None:
    estimates = [strength(make().encode()).bits for _ in range(2000)]

    assert min(estimates) >= WEAK_BELOW_BITS + 10  # with a margin, so this cannot flake


def test_an_issued_key_is_not_weak() -> None:
    from flask_otcauth import generate_key  # noqa: PLC0415 - the package's public name

    assert not strength(generate_key().encode()).weak


def test_the_description_counts_and_estimates_without_the_secret() -> None:
    text = strength(b"a" * 32).describe()

    assert text == ("has 1 distinct character and an estimated 0 bits of entropy, where a "
                    "random one of its 32 characters has about 192")
    assert "aaaa" not in text


def test_a_pasted_megabyte_is_judged_on_its_start_in_bounded_time() -> None:
    estimate = strength(secrets.token_urlsafe(750_000).encode())

    assert estimate.length == 1_000_000
    assert not estimate.weak
