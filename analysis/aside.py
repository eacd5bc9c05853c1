"""Answers set apart before theming: empty, redacted, not in English, and non-substantive replies.

"Nothing", "all good", "thanks", "hear, hear" and "xxxx" say something (often a great deal, to an improvement
question) but nothing about *what*: clustered, they become several look-alike themes that crowd out the topics.
They are counted here in named buckets instead, and the rest is clustered by what it is about.

A text is non-substantive when none of its content words is *topical*: every word is a stop word, a sentiment
or politeness word (VADER's lexicon, which ships with ``vaderSentiment``), or a generic word such as
"service" or "everything". A short list of words that are both felt and about something ("clean", "pain",
"noisy", "delay") stays topical, and so do words for how staff treat people ("kind", "rude", "listened"):
"Friendly, caring, clear" is about staff manner, a topic human coders code, while "All good" is set aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from analysis.text import KEPT_WORDS, content_tokens, stem, tokenize

# Buckets in the order they are shown: name, label an analyst reads.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("nothing", "Nothing to add or change"),
    ("praise", "General praise, nothing specific"),
    ("criticism", "General criticism, nothing specific"),
    ("agreement", "Agreement without a point of its own"),
    ("thanks", "Thanks"),
    ("redacted", "Redacted or removed text"),
    ("not_english", "Not in English (not themed or scored)"),
    ("empty", "Empty or unreadable"),
    ("other", "Too short to say what it is about"),
)
BUCKET_LABELS = dict(BUCKETS)

# How staff treat people ("kind", "rude", "listened", "explained clearly"). Felt words, but their subject is
# a topic: NHS coding frameworks code it (v6's "Staff manner & personal attributes", phase-1's "Staff"), so
# "Friendly, caring, clear" is about staff manner, not general praise to set aside like "All good".
MANNER_WORDS: frozenset[str] = frozenset(
    "helpful unhelpful friendly unfriendly kind kindness unkind caring uncaring polite impolite rude rudeness "
    "courteous discourteous respectful disrespectful professional unprofessional efficient inefficient patient "
    "impatient calm reassuring reassurance reassured supportive attentive compassionate compassion understanding "
    "knowledgeable informative approachable considerate inconsiderate thoughtful welcoming cheerful pleasant "
    "gentle empathetic empathy sympathetic dismissive arrogant listened listening listen organised disorganised "
    "prompt punctual thorough clear clearly explained".split()
)
# Felt words that also name a topic a human coder would code: they stay in the clustering.
TOPICAL_FEELINGS: frozenset[str] = frozenset(
    "clean cleanliness dirty pain painful noisy noise delay delays delayed cramped lonely ignored lost "
    "hungry thirsty cold safe unsafe safety comfortable uncomfortable privacy dignity respect respected "
    "free cost expensive busy crowded understaffed confusing confused anxious anxiety stress stressful "
    "worry worried scared frightened disabled disability death died mental loud quiet".split()
) | MANNER_WORDS
# Words that carry no topic of their own in a service-feedback answer.
GENERIC_WORDS: frozenset[str] = frozenset(
    "service services everything everyone everybody experience overall thing things anything something "
    "way lot bit time times today day job work done did thank thanks thankyou cheers please care cared "
    "caring treated treatment team people person place really absolutely totally definitely completely "
    "extremely amazingly keep kept carry continue right wrong say said think feel felt felt ok okay yes "
    "yeah yep hear agree agreed exactly indeed spot couldn could would much many happy satisfied".split()
)
_AGREEMENT = re.compile(r"^\W*(?:hear,? hear|\+1|agree|agreed|i agree|yes|yep|exactly|spot on|seconded|same"
                        r"|absolutely|definitely|me too|so true|well said|this)\b", re.IGNORECASE)
_THANKS = re.compile(r"\b(?:thank|thanks|thankyou|cheers|grateful|gratitude)\b", re.IGNORECASE)
_DECLINE = re.compile(
    r"^\W*(?:(?:absolutely|really|honestly|nothing|no)\W+)?(?:nothing|none|nowt|nope|no|nil|n/?a|not a thing"
    r"|not really|no comment|no complaints|no suggestions|not applicable|can'?t think of any(?:thing)?"
    r"|cannot think of any(?:thing)?|i can'?t think of any(?:thing)?|i cannot think of any(?:thing)?)\b",
    re.IGNORECASE,
)
_REDACTION = re.compile(r"^(?:x{2,}|\*{2,}|#{2,}|\[redacted\]|redacted|removed)$", re.IGNORECASE)
_REDACTION_TOKEN = re.compile(r"^x{3,}$")
# Short, very common function words of Welsh, Scots Gaelic, Irish, French, Spanish, German, Polish,
# Portuguese, Italian and Romanian that are not English words (a text of these is not English).
_FOREIGN_FUNCTION_WORDS: frozenset[str] = frozenset(
    "yn ac gyda ddim wedi roedd iawn diolch mae oedd hefyd ond fy eich ein nhw hwn hon bod ar gan dros "
    "rhaid gwasanaeth gofal da iawn ni chi ei eu ydy ydw dw yw nid heb pan ble pam sut beth "
    "agus tha ann gu le air bha nach seo sin ta ag bhi leis agus "
    "le la les des est et une pour avec dans sur pas tres tout sont mais qui que nous vous ils elle "
    "el los las por para con una del muy pero esta como mas sus "
    "der das und ist nicht mit sehr ein eine auf fur von sich auch wir "
    "nie jest bardzo sie na do oraz czy jak dla ze "
    "nao muito com uma para mais os das "
    "il che di non sono della molto per gli "
    "si este foarte cu pentru sunt".split()
)


@dataclass(frozen=True)
class Verdict:
    """Why a text is set aside (``bucket``), or None when it is clustered; ``topical`` are its topic words."""

    bucket: str | None
    topical: tuple[str, ...]


@lru_cache(maxsize=1)
def sentiment_lexicon() -> frozenset[str]:
    """Words VADER scores as clearly felt (|valence| >= 0.5), minus the topical ones."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    return frozenset(w for w, v in lexicon.items() if abs(v) >= 0.5 and w.isalpha()) - TOPICAL_FEELINGS


@lru_cache(maxsize=1)
def _tone_stems() -> frozenset[str]:
    words = (sentiment_lexicon() | GENERIC_WORDS | KEPT_WORDS) - TOPICAL_FEELINGS
    return frozenset(stem(w) for w in words) - frozenset(stem(w) for w in TOPICAL_FEELINGS)


def is_tone_word(word: str) -> bool:
    """A word that says how someone feels, or nothing in particular, rather than what about."""
    return word in GENERIC_WORDS or word in KEPT_WORDS or (
        word not in TOPICAL_FEELINGS and (word in sentiment_lexicon() or stem(word) in _tone_stems())
    )


def topical_words(text: str) -> list[str]:
    """Content words of ``text`` that say what it is about."""
    return [w for w in content_tokens(text) if not is_tone_word(w) and not _REDACTION_TOKEN.match(w)]


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """English word list (the distilled vectors' vocabulary: the model's words and SCOWL's list)."""
    from analysis.word_vectors import WORD_VECTORS, load_word_vectors

    table = load_word_vectors(WORD_VECTORS)
    return frozenset(table.index) if table is not None else frozenset()


def is_not_english(text: str) -> bool:
    """True for text of four or more words most of which are not English (Welsh, Polish, French...)."""
    tokens = [t for t in tokenize(text) if len(t) > 1]
    if len(tokens) < 4:
        return False
    foreign = sum(t in _FOREIGN_FUNCTION_WORDS for t in tokens)
    vocabulary = english_words()
    unknown = sum(t not in vocabulary for t in tokens) if vocabulary else 0
    # Function words decide it when present; otherwise most words must be unknown to the English list.
    if foreign / len(tokens) >= 0.25 and unknown / len(tokens) >= 0.2:
        return True
    return bool(vocabulary) and unknown / len(tokens) >= 0.6


def classify(text: str) -> Verdict:
    """The bucket a text is set aside in, or ``Verdict(None, topic words)`` when it has a topic."""
    stripped = text.strip()
    tokens = tokenize(stripped)
    if not tokens:
        return Verdict("empty", ())
    if all(_REDACTION.match(t) or _REDACTION_TOKEN.match(t) for t in stripped.lower().split() if t.isalpha()) \
            and any(_REDACTION_TOKEN.match(t) for t in tokens):
        return Verdict("redacted", ())
    if is_not_english(stripped):
        return Verdict("not_english", ())
    topical = tuple(topical_words(stripped))
    if topical:
        return Verdict(None, topical)
    if _DECLINE.match(stripped):
        return Verdict("nothing", ())
    if _AGREEMENT.match(stripped):
        return Verdict("agreement", ())
    if _THANKS.search(stripped):
        return Verdict("thanks", ())
    words = [w for w in content_tokens(stripped)]
    lexicon = sentiment_lexicon()
    if any(w in lexicon or w in {"fine", "ok", "okay", "happy", "satisfied"} for w in words):
        from analysis.sentiment import vader_compound

        compound = vader_compound([stripped])[0]
        if compound <= -0.05:
            return Verdict("criticism", ())
        return Verdict("praise", ())
    if any(_REDACTION_TOKEN.match(t) for t in tokens):
        return Verdict("redacted", ())
    return Verdict("other", ())


def set_aside_summary(buckets: dict[str, list[str]], total: int) -> list[dict[str, object]]:
    """The set-aside buckets as result rows: name, label, count, share of all texts, contribution ids."""
    rows = []
    for name, label in BUCKETS:
        ids = buckets.get(name, [])
        if ids:
            rows.append({"name": name, "label": label, "count": len(ids),
                         "share": round(len(ids) / total, 4) if total else 0.0, "contributions": list(ids)})
    return rows
