"""The XSS payload corpus: base vectors (tests/security/data/xss_vectors.txt) expanded into encoded variants.

Every payload calls the probe's hook with its own number (``xss(17)``), so an execution names the payload.
Template-injection strings are separate: they cannot run script, but if a template engine evaluated them the
page would show their result (``{{71*17}}`` shown as ``1207``), which the probe looks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

VECTORS = Path(__file__).parent / "data" / "xss_vectors.txt"


@dataclass(frozen=True)
class Payload:
    """One string to inject, its number, and for template injection the text evaluation would show."""

    number: int
    text: str
    evaluated: str | None = None


def _entities(text: str, style: str) -> str:
    """The markup characters of text as HTML entities, the way a filter-evasion attempt sends them."""
    named = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    if style == "named":
        return "".join(named.get(ch, ch) for ch in text)
    if style == "decimal":
        return "".join(f"&#{ord(ch)};" if ch in named else ch for ch in text)
    if style == "hex":
        return "".join(f"&#x{ord(ch):x};" if ch in named else ch for ch in text)
    if style == "double":
        return "".join(named[ch].replace("&", "&amp;") if ch in named else ch for ch in text)
    raise ValueError(style)


def _mixed_case(text: str) -> str:
    """Tag and attribute names in alternating case (the hook call itself left alone)."""
    parts = re.split(r"(xss\(\d+\))", text)
    out = []
    for part in parts:
        if part.startswith("xss("):
            out.append(part)
        else:
            out.append("".join(ch.upper() if i % 2 else ch.lower() for i, ch in enumerate(part)))
    return "".join(out)


VARIANTS = (
    ("raw", lambda t: t),
    ("after a double quote", lambda t: '">' + t),
    ("after closing tags", lambda t: "</textarea></title></p>" + t),
    ("named entities", lambda t: _entities(t, "named")),
    ("decimal entities", lambda t: _entities(t, "decimal")),
    ("hex entities", lambda t: _entities(t, "hex")),
    ("double-encoded entities", lambda t: _entities(t, "double")),
    ("percent-encoded", lambda t: quote(t, safe="=:/(); ")),
    ("mixed case", _mixed_case),
)
TEMPLATES = ("{{%d*%d}}", "${%d*%d}", "#{%d*%d}", "<%%= %d*%d %%>", "{%% print(%d*%d) %%}", "[[${%d*%d}]]",
             "{{%d*%d|safe}}", "@(%d*%d)")


def vectors() -> list[str]:
    """The base vectors, with {js} where the hook call goes."""
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


def corpus() -> list[Payload]:
    """Every payload: each base vector in each variant, then template-injection strings, numbered from 1."""
    payloads: list[Payload] = []
    seen: set[str] = set()
    for vector in vectors():
        for _, variant in VARIANTS:
            number = len(payloads) + 1
            text = variant(vector.replace("{js}", f"xss({number})"))
            if text not in seen:
                seen.add(text)
                payloads.append(Payload(number, text))
    for template in TEMPLATES:
        for a, b in ((71, 17), (13, 1013)):
            number = len(payloads) + 1
            evaluated = str(a * b)
            payloads.append(Payload(number, template % (a, b) + f" xss-tpl-{number}", evaluated))
    return payloads
