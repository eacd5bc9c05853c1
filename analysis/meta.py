"""Pol.is-style "meta" statements: statements about who is voting ("I am over 55"), not opinions.

In Pol.is a moderator can mark a statement "meta" (``is-meta`` in comments.csv); agreeing with "I live in
Bowling Green" says where someone lives, not what they think, so such statements are left out of the opinion
groups and of consensus, and reported on their own (how each opinion group answered them).

Which statements are meta: when the data carries marks (a Pol.is export with an ``is-meta`` column, or a
JSON-lines export with ``"meta"`` on its contributions) the marks decide, because a moderator read them.
Otherwise a conservative classifier marks short first-person self-descriptions: "I am a nurse", "I am over
55", "I live in Leeds", "I have lived here all my life", "I work for the NHS", "I have two children". It
leaves opinions that start the same way alone ("I am worried about ...", "I live in fear of ...", "I think
..."): a statement is marked only when it is one sentence, has no opinion word, and describes the speaker.
"""

from __future__ import annotations

import re

from analysis.records import Dataset

MAX_WORDS = 14
# First-person descriptions of the speaker: age, where they live, work, study, family, identity.
_SELF = re.compile(
    r"^\W*i(?:'m| am| was)\s+(?:an?\s+|over\s+\d|under\s+\d|aged?\s+\d|\d+|(?:a\s+)?(?:man|woman|male|female|"
    r"parent|mother|father|mum|dad|carer|student|retired|pensioner|resident|local|volunteer|member|employee|"
    r"patient|nurse|doctor|gp|teacher|farmer|veteran|disabled|unemployed|self[- ]employed|born|from|"
    r"originally|not from|currently|one of|eligible|of\s+(?:\w+\s+){1,2}(?:descent|heritage|origin|background))\b)"
    r"|^\W*i(?:'ve| have)?\s*(?:live[ds]?|have lived|grew up|was born|work(?:ed)?|study|studied|volunteer(?:ed)?)"
    r"\s+(?:in|at|for|on|near|as|here|there|with|around|outside|locally|full[- ]time|part[- ]time)\b"
    r"|^\W*i(?:'ve| have)\s+(?:a|an|one|two|three|four|\d+|no)\s+(?:child|children|kids?|sons?|daughters?|"
    r"grandchildren|dogs?|cats?|car|disability|job)\b"
    r"|^\W*my\s+(?:age|job|occupation|profession|home|family|household)\s+(?:is|are)\b",
    re.IGNORECASE,
)
# Words that turn a self-description into an opinion ("I am a parent and I think schools should ...").
_OPINION = re.compile(
    r"\b(?:think|believe|feel|want|wish|hope|support|oppose|agree|disagree|should|must|need|needs|ought|"
    r"worried|concerned|afraid|scared|angry|happy|unhappy|sad|tired|sick|fed up|glad|proud|ashamed|"
    r"against|favour|favor|prefer|like|love|hate|because|fear|better|worse|pleased|unsure|okay|ok|fan|supporter|"
    r"believer|advocate|critic)\b",
    re.IGNORECASE,
)


def looks_like_meta(text: str) -> bool:
    """True for a short first-person statement about the speaker that carries no opinion."""
    clean = text.replace("\u2019", "'").strip()
    if not clean or len(clean.split()) > MAX_WORDS:
        return False
    if re.search(r"[.!?;]\s+\S", clean):  # more than one sentence: an opinion usually follows
        return False
    return bool(_SELF.search(clean)) and not _OPINION.search(clean)


def meta_statements(dataset: Dataset) -> tuple[frozenset[str], str]:
    """Ids of the meta statements and how they were found ("marked in the export" or "detected")."""
    if dataset.meta.get("meta_marked"):
        return frozenset(c.id for c in dataset.contributions if c.meta), "marked in the export"
    return frozenset(c.id for c in dataset.contributions if looks_like_meta(c.text)), "detected"
