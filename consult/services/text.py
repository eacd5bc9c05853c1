"""Plain-text input: strip any HTML, keep line breaks and every Unicode character, check lengths."""

from __future__ import annotations

import html
import re
import unicodedata

import bleach

from .errors import Invalid

# Control characters other than tab and newline never belong in a contribution.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """Return the text with HTML tags removed, newlines normalised and outer whitespace trimmed."""
    if not value:
        return ""
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    # bleach strips tags and escapes the rest; we store plain text and escape on output instead.
    text = html.unescape(bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True))
    text = unicodedata.normalize("NFC", text)
    if single_line:
        text = " ".join(text.split())
    else:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def require_text(value: str | None, *, field: str, label: str, max_length: int, single_line: bool = False) -> str:
    """Clean the text and raise Invalid with a plain message when it is empty or too long."""
    text = clean_text(value, single_line=single_line)
    if not text:
        raise Invalid(f"Enter {label}", {field: f"Enter {label}"})
    if len(text) > max_length:
        message = f"{label[0].upper()}{label[1:]} must be {max_length:,} characters or fewer (it has {len(text):,})"
        raise Invalid(message, {field: message})
    return text
