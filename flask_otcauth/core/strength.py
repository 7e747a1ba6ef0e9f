"""How guessable a configured secret looks, for ``flask otcauth check``; Flask-free.

The settings refuse a secret shorter than 32 bytes, and ``"a" * 32`` is 32 bytes. One sample
cannot prove a secret random, but it can prove one is not: a secret whose characters repeat,
run in sequence or come from a tiny alphabet carries far fewer bits than its length. The
estimate is the smallest of three, each an upper bound on what an attacker must guess:

- Shannon's entropy of its characters, times the characters that are not a repeat of an
  earlier run of four or more (``"password1234" * 3`` counts its first twelve, plus one for
  the repeat);
- Shannon's entropy of the differences between neighbouring bytes, which sees through
  sequences (``"abcdef..."``, ``"0123..."``: every step is 1).

A random 32-character secret from a 16-letter alphabet (``secrets.token_hex(16)``) estimates
at about 115 bits (never below 80 in 20,000 draws), ``secrets.token_urlsafe(48)`` at about
330; :data:`WEAK_BELOW_BITS` lies well under them, so a random secret is never warned about,
while ``"a" * 32`` (0 bits), ``"abcdef..."`` (6) and ``"password1234" * 3`` (44) are. Nothing
here keeps a secret or says anything of it beyond the two numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

WEAK_BELOW_BITS: Final = 64
_REPEAT: Final = 4  # a run this long seen before counts as one character
_RANDOM_BITS_PER_CHARACTER: Final = 6  # base64url, as secrets.token_urlsafe writes them
_ANALYSED: Final = 1024  # bytes: enough to judge, bounded work for a pasted megabyte


@dataclass(frozen=True, slots=True)
class Strength:
    """What ``check`` may say about a secret: its length, how many distinct bytes, about how
    many bits."""

    length: int
    distinct: int
    bits: float

    @property
    def weak(self) -> bool:
        return self.bits < WEAK_BELOW_BITS

    def describe(self) -> str:
        plural = "" if self.distinct == 1 else "s"
        return (f"has {self.distinct} distinct character{plural} and an estimated "
                f"{self.bits:.0f} bits of entropy, where a random one of its {self.length} "
                f"characters has about {self.length * _RANDOM_BITS_PER_CHARACTER}")


def strength(secret: bytes) -> Strength:
    """The estimate of the module docstring for one secret."""
    sample = secret[:_ANALYSED]
    if not sample:
        return Strength(0, 0, 0.0)
    per_byte = _shannon(sample) / len(sample)
    by_characters = per_byte * _novel(sample)
    by_steps = _shannon([(later - earlier) % 256 for earlier, later in pairwise(sample)])
    return Strength(len(secret), len(set(sample)), max(0.0, min(by_characters, by_steps)))


def _shannon(values: Sequence[int]) -> float:
    """Total Shannon entropy in bits of ``values`` as a sample of their own distribution."""
    total = len(values)
    return -sum(count * math.log2(count / total) for count in Counter(values).values())


def _novel(sample: bytes) -> int:
    """Characters not repeating an earlier run of :data:`_REPEAT` or more; a repeat counts 1.

    Earlier runs are found by their first :data:`_REPEAT` bytes, so a random secret costs one
    dictionary lookup per character.
    """
    starts: dict[bytes, list[int]] = {}
    count = position = 0
    while position < len(sample):
        longest = 0
        for start in starts.get(sample[position:position + _REPEAT], ()):
            length = 0
            while (position + length < len(sample)
                   and sample[start + length] == sample[position + length]):
                length += 1
            longest = max(longest, length)
        step = longest if longest >= _REPEAT else 1
        for passed in range(position, position + step):
            starts.setdefault(sample[passed:passed + _REPEAT], []).append(passed)
        position += step
        count += 1
    return count
