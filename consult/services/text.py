"""Plain-text input (refuse or strip any HTML, keep line breaks and all Unicode, check lengths); counts in words."""

from __future__ import annotations

import html
import re
import unicodedata

import bleach

from .errors import Invalid

# Control characters other than tab and newline never belong in a contribution.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
# Entity-encoded markup inside entity-encoded markup needs one round per layer; real text settles in one or two.
_MAX_ROUNDS = 10
# Characters that draw nothing although Unicode does not class them as spaces or format characters.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def _strip_markup(text: str) -> str:
    """Decode entities, strip tags and decode again until nothing changes, so encoded markup cannot survive."""
    for _ in range(_MAX_ROUNDS):
        before = text
        # Decoding first means "&lt;img onerror=...&gt;" is seen, and stripped, as the tag it would become.
        text = html.unescape(text)
        # bleach strips tags and escapes the rest; we store plain text and escape on output instead.
        text = html.unescape(bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True))
        if text == before:
            return text
    # Still changing after many rounds: nothing legitimate nests this deep, so keep no angle brackets at all.
    return text.replace("<", "").replace(">", "")


def has_visible_text(text: str) -> bool:
    """Whether the text has at least one character that shows (not only spaces, zero-width or format marks)."""
    return any(
        not (unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me") or ch in _BLANK_LOOKING)
        for ch in text
    )


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """Return the text with HTML tags removed, newlines normalised and outer whitespace trimmed."""
    if not value:
        return ""
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", _strip_markup(text))
    text = unicodedata.normalize("NFC", text)
    if single_line:
        text = " ".join(text.split())
    else:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        text = _MANY_BLANK_LINES.sub("\n\n", text)
    text = text.strip()
    # Text made only of invisible characters (zero-width spaces and the like) is no text at all.
    return text if has_visible_text(text) else ""


MARKUP_MESSAGE = ("Remove the angle brackets: words between < and >, like <b> or <email>, are read as web page "
                  "code, which cannot be posted. To write “less than”, put a space after the < sign")


def markup_found(value: str) -> bool:
    """Whether cleaning would remove markup (tags or comments, typed or entity-encoded) rather than only decode
    entities: "staff<patients" and "&lt;b&gt;" would lose text, "a < b" and "Fish &amp; chips" would not."""
    text = _CONTROL.sub("", value)
    decoded = text
    for _ in range(_MAX_ROUNDS):
        decoded, before = html.unescape(decoded), decoded
        if decoded == before:
            break
    return _strip_markup(text) != decoded


# Scripts written without spaces between words: each character there counts as a word.
_UNSPACED = ("CJK UNIFIED IDEOGRAPH", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")
_WORD = re.compile(r"[^\W_]+")
# An idea's title says what it is about: "Evening clinics", "Go Tops!", "Parking" pass; "a", "Hi", "..." do not.
# The shortest titles in the demo and in four Pol.is conversations are two words ("Unpaid carers", "Go Tops!").
TITLE_MIN_WORDS, TITLE_MIN_LETTERS = 2, 5
TITLE_MESSAGE = ("Give the idea a title that says what it is about: at least 2 words, or one word of 5 letters "
                 "or more, like “Evening clinics”")


def has_words(text: str) -> bool:
    """Whether the text has a letter or a number in any script (not only punctuation, symbols or emoji)."""
    return any(ch.isalnum() for ch in text)


def word_count(text: str) -> int:
    """Words as runs of letters and numbers; in scripts written without spaces, each character is one."""
    count = 0
    for word in _WORD.findall(text):
        unspaced = sum(1 for ch in word if unicodedata.name(ch, "").startswith(_UNSPACED))
        count += unspaced + (1 if len(word) > unspaced else 0)
    return count


def title_long_enough(text: str) -> bool:
    """Whether an idea's title has at least 2 words, or 5 letters or numbers."""
    return word_count(text) >= TITLE_MIN_WORDS or sum(ch.isalnum() for ch in text) >= TITLE_MIN_LETTERS


def require_text(value: str | None, *, field: str, label: str, max_length: int, single_line: bool = False) -> str:
    """Clean the text and raise Invalid with a plain message when it is empty, wordless, too long or holds markup.

    Markup is refused, not silently stripped: stripping "staff<patients ... <email>" used to drop half a sentence
    without a word. Refused text goes back to its author; nothing with markup is stored, as before. Text of only
    punctuation or symbols ("." or "!!!") says nothing, so it is refused like empty text.
    """
    if value and ("<" in value or "&" in value) and markup_found(value):
        raise Invalid(MARKUP_MESSAGE, {field: MARKUP_MESSAGE})
    text = clean_text(value, single_line=single_line)
    if not text:
        # Zero-width or blank-looking characters alone look empty in the box too, so the same words fit.
        raise Invalid(f"Enter {label}", {field: f"Enter {label}"})
    if not has_words(text):
        message = f"Enter {label} in words: it has no letters or numbers, only punctuation or symbols"
        raise Invalid(message, {field: message})
    if len(text) > max_length:
        message = f"{label[0].upper()}{label[1:]} must be {max_length:,} characters or fewer (it has {len(text):,})"
        raise Invalid(message, {field: message})
    return text


def require_title(value: str | None, *, max_length: int, field: str = "title") -> str:
    """An idea's title, cleaned: as require_text, and long enough to say what the idea is about."""
    text = require_text(value, field=field, label="a title", max_length=max_length, single_line=True)
    if not title_long_enough(text):
        raise Invalid(TITLE_MESSAGE, {field: TITLE_MESSAGE})
    return text


def plural(count: int, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 contribution", "3 contributions" (`many` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
