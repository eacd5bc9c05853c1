"""Public ids: how ideas and comments are named in pages, forms and the open data API.

A database id is a global sequence: shown in public it tells anyone which contributions came before which and
how they relate to account creation. So the public id is a keyed permutation of the id (a Feistel network over
64 bits whose round function is HMAC-SHA256 under CONSULT_PUBLIC_ID_KEY), written as 13 lowercase base32
letters. It is a bijection, so there are no collisions and nothing to store; without the key the order of the
ids cannot be recovered. The kind ("idea", "comment") is mixed into the key, so an idea's public id is not a
valid comment id. Every server with the same key gives the same public ids.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

KINDS = ("idea", "comment")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
LENGTH = 13  # 13 base32 letters hold 65 bits: every 64-bit block fits, the first letter is a to p
ROUNDS = 6
MAX_ID = 2**63 - 1
_HALF = 0xFFFFFFFF
_VALUES = {letter: n for n, letter in enumerate(ALPHABET)}
_BLOCK = 64  # SHA-256's block size in bytes
# HMAC-SHA256 under a permutation's key, as its inner and outer hash states (see _round_key).
RoundKey = tuple[Any, Any]


@lru_cache(maxsize=64)
def _round_key(key: str, kind: str) -> RoundKey:
    """One kind's permutation key, derived from the configured key (kept apart from its other uses).

    Returned as HMAC-SHA256's inner and outer hash states under that key: each round copies them instead of
    hmac.digest() padding the key and hashing it again (a third of the time; a page names up to ~80 ideas and
    comments the id cache has not met yet, 28 microseconds each before).
    """
    if kind not in KINDS:
        raise ValueError(f"public ids are for {KINDS}, not {kind!r}")
    secret = hmac.new(key.encode(), b"consult public id\x00" + kind.encode(), hashlib.sha256).digest()
    block = secret.ljust(_BLOCK, b"\x00")  # 32 bytes: shorter than SHA-256's block, so used as it is (RFC 2104)
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def _f(round_key: RoundKey, number: int, half: int) -> int:
    """The Feistel round function: 32 bits of HMAC-SHA256 of the round number and one half."""
    inner, outer = round_key[0].copy(), round_key[1].copy()
    inner.update(bytes((number,)) + half.to_bytes(4, "big"))
    outer.update(inner.digest())
    return int.from_bytes(outer.digest()[:4], "big")


def permute(round_key: RoundKey, value: int) -> int:
    """The keyed permutation of a 64-bit number."""
    left, right = value >> 32, value & _HALF
    for number in range(ROUNDS):
        left, right = right, left ^ _f(round_key, number, right)
    return (left << 32) | right


def unpermute(round_key: RoundKey, value: int) -> int:
    """The inverse of permute()."""
    left, right = value >> 32, value & _HALF
    for number in reversed(range(ROUNDS)):
        left, right = right ^ _f(round_key, number, left), left
    return (left << 32) | right


def _key(key: str | None) -> str:
    """The given key, else the app's PUBLIC_ID_KEY."""
    if key is not None:
        return key
    from flask import current_app

    return str(current_app.config["PUBLIC_ID_KEY"])


def encode(kind: str, n: int, *, key: str | None = None) -> str:
    """The public id of idea or comment number n (1..2^63-1)."""
    return _encode(_key(key), kind, int(n))


# A page names each of its ideas and comments several times (anchors, vote forms, links): remember the last ones.
@lru_cache(maxsize=16384)
def _encode(key: str, kind: str, n: int) -> str:
    """The public id of number n under this key (see encode)."""
    if not 0 < n <= MAX_ID:
        raise ValueError("only stored ids (1 to 2^63-1) have public ids")
    value = permute(_round_key(key, kind), n)
    letters = []
    for _ in range(LENGTH):
        letters.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(letters))


def anchor(comment_id: int) -> str:
    """The fragment that takes a page to a comment ("#comment-<public id>")."""
    return f"#comment-{encode('comment', comment_id)}"


def decode(kind: str, text: object, *, key: str | None = None) -> int | None:
    """The id a public id names, or None when it is malformed or cannot name a stored id of this kind."""
    if not isinstance(text, str) or len(text) != LENGTH:
        return None
    return _decode(_key(key), kind, text)


# Every request naming an idea or comment decodes its public id (the address, a vote's form), often the same ones.
@lru_cache(maxsize=4096)
def _decode(key: str, kind: str, text: str) -> int | None:
    """The id this 13-letter text names under this key, or None (see decode)."""
    value = 0
    for letter in text:
        digit = _VALUES.get(letter)
        if digit is None:
            return None
        value = (value << 5) | digit
    if value >> 64:
        return None
    n = unpermute(_round_key(_key(key), kind), value)
    return n if 0 < n <= MAX_ID else None
