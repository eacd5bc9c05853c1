"""Public ids: a keyed bijection on ids that shows nothing of their order, and rejects anything malformed."""

from __future__ import annotations

import random

import pytest
from scipy.stats import spearmanr

from consult import publicids
from consult.publicids import MAX_ID, decode, encode

KEY = "k" * 40
SAMPLE = [1, 2, 3, 41, 1000, 65535, 2**31, 2**32 - 1, 2**32, 2**40 + 7, MAX_ID - 1, MAX_ID]


@pytest.mark.parametrize("kind", publicids.KINDS)
def test_public_ids_round_trip_from_1_to_the_largest_id(kind: str) -> None:
    rng = random.Random(11)
    numbers = SAMPLE + list(range(1, 2000)) + [rng.randint(1, MAX_ID) for _ in range(2000)]
    seen = set()
    for n in numbers:
        text = encode(kind, n, key=KEY)
        assert len(text) == 13 and text.isascii() and text == text.lower() and set(text) <= set(publicids.ALPHABET)
        assert decode(kind, text, key=KEY) == n
        seen.add(text)
    assert len(seen) == len(set(numbers))  # no two ids share a public id


def test_an_ideas_public_id_is_not_a_comments() -> None:
    ideas = {encode("idea", n, key=KEY) for n in range(1, 1001)}
    comments = {encode("comment", n, key=KEY) for n in range(1, 1001)}
    assert not ideas & comments
    # Decoded as the other kind, an idea's public id names some other number (or none), never the idea's.
    assert all(decode("comment", encode("idea", n, key=KEY), key=KEY) != n for n in range(1, 1001))


@pytest.mark.parametrize("text", [
    "", "1", "123", "aaaaaaaaaaaa", "aaaaaaaaaaaaaa", "AAAAAAAAAAAAA", "aaaaaaaaaaaa1", "aaaaaaaaaaaa8",
    "aaaaaaaaaaaa=", "aaaaaaaaaaa a", "zzzzzzzzzzzzz", "qaaaaaaaaaaaa", "\u00e1aaaaaaaaaaaa", "aaaaaaaaaaaa\x00",
    None, 12345, b"aaaaaaaaaaaaa",
])
def test_malformed_public_ids_decode_to_nothing(text: object) -> None:
    assert decode("idea", text, key=KEY) is None


def test_a_public_id_beyond_the_stored_range_decodes_to_nothing() -> None:
    # Half the 64-bit blocks are permutations of numbers above 2^63-1 (or 0): no id, no error.
    rng = random.Random(3)
    results = [decode("idea", "".join(rng.choice("abcdefghijklmnop") + "".join(
        rng.choice(publicids.ALPHABET) for _ in range(12))), key=KEY) for _ in range(400)]
    nones = sum(r is None for r in results)
    assert 100 < nones < 300
    assert all(r is None or 0 < r <= MAX_ID for r in results)
    with pytest.raises(ValueError):
        encode("idea", 0, key=KEY)
    with pytest.raises(ValueError):
        encode("idea", MAX_ID + 1, key=KEY)
    with pytest.raises(ValueError):
        encode("user", 1, key=KEY)


def test_consecutive_ids_give_public_ids_in_no_visible_order() -> None:
    texts = [encode("idea", n, key=KEY) for n in range(1, 1001)]
    ranks = {text: rank for rank, text in enumerate(sorted(texts))}
    rho, _ = spearmanr(range(1, 1001), [ranks[t] for t in texts])
    assert abs(rho) < 0.1
    # Neighbours share no prefix to speak of: the first letter alone already varies across 16 values.
    assert len({t[0] for t in texts[:100]}) >= 12
    # Nor does the difference between two public ids tell the difference between their ids.
    values = [int("".join(f"{publicids.ALPHABET.index(c):05b}" for c in t), 2) for t in texts]
    gaps = [b - a for a, b in zip(values, values[1:], strict=False)]
    assert sum(g > 0 for g in gaps) in range(400, 600)


def test_another_key_gives_other_public_ids() -> None:
    other = "o" * 40
    mine = [encode("idea", n, key=KEY) for n in range(1, 1001)]
    theirs = [encode("idea", n, key=other) for n in range(1, 1001)]
    assert sum(a == b for a, b in zip(mine, theirs, strict=True)) == 0
    assert all(decode("idea", t, key=other) == n for n, t in enumerate(theirs, start=1))
    assert sum(decode("idea", t, key=KEY) == n for n, t in enumerate(theirs, start=1)) == 0


def _reference_encode(kind: str, n: int, key: str) -> str:
    """The documented definition, written plainly: six Feistel rounds of HMAC-SHA256, then 13 base32 letters."""
    import hashlib
    import hmac

    round_key = hmac.new(key.encode(), b"consult public id\x00" + kind.encode(), hashlib.sha256).digest()
    left, right = n >> 32, n & 0xFFFFFFFF
    for number in range(6):
        digest = hmac.new(round_key, bytes([number]) + right.to_bytes(4, "big"), hashlib.sha256).digest()
        left, right = right, left ^ int.from_bytes(digest[:4], "big")
    value = (left << 32) | right
    return "".join(publicids.ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def test_public_ids_stay_the_same_from_release_to_release() -> None:
    # Saved links and exported data name ideas and comments by these: a faster round function must not move them.
    assert [encode("idea", n, key=KEY) for n in (1, 2**40, MAX_ID)] == ["n2ra2w4ngmmwo", "ii2umbtefndzd",
                                                                        "izeyegjui7bxf"]
    assert [encode("comment", n, key=KEY) for n in (1, 2**40)] == ["cuxwqqwrvxxti", "d4psmas6duxv6"]
    rng = random.Random(5)
    for kind in publicids.KINDS:
        for n in [rng.randint(1, MAX_ID) for _ in range(300)] + list(range(1, 300)):
            text = encode(kind, n, key=KEY)
            assert text == _reference_encode(kind, n, KEY)
            assert decode(kind, text, key=KEY) == n
