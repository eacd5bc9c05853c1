"""What a word can be in a label, and which words of a text are its own topic.

A theme label is a noun phrase, so its last word (its head) must be able to be a noun, must name something
("Waiting times", not "Helpful", "Summary" or "Goes"), and a word too general to say what a theme is about
("Staff", "Advice", "Worker") may head a longer phrase ("Support workers", "Phone advice") but not stand
alone. Word classes come from LemmInflect's English lexicon (the SPECIALIST lexicon of the US National
Library of Medicine, which knows health words); a word it lists as both adjective and noun ("professional",
"clinical", "patient") is judged by how the texts use it. Self-introductions ("I'm a physiotherapist
working in a community team.", "Student here.") say who writes, not what about, so they are left out of
label phrases and of the words a quote is judged by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from analysis.aside import is_tone_word
from analysis.text import STOP_WORDS, content_tokens, stem

# Nouns that never say what a theme is about, even at the end of a longer phrase ("pilots end", "sounds").
FILLER_HEADS: frozenset[str] = frozenset(
    "thing things stuff lot lots bit bits way ways part parts side sides start starts end ends kind kinds sort "
    "type types sound sounds go goes example examples reason reasons fact facts matter matters word words "
    "aspect aspects everything anything something nothing everyone anyone someone mind minds regard regards "
    "number numbers amount amounts level levels sense point points idea ideas option options chance let "
    "having being doing getting going making taking coming giving saying trying seeing looking come comes "
    "came get gets got make makes take takes give gives say says look looks seem seems sound feel feels "
    "knowing thinking wanting needing hoping one two three four five six seven eight nine ten eleven twelve "
    "twenty hundred thousand".split()
)
# Nouns too general to be a theme's label on their own (who, a generic act, the consultation itself); they
# may head a longer phrase ("support workers", "phone advice", "survey results" is still refused: see above).
GENERIC_NOUNS: frozenset[str] = frozenset(
    "people person persons patient patients staff worker workers member members service services team teams "
    "care support help advice experience experiences time times day days week weeks month months year years "
    "area areas place places issue issues problem problems question questions answer answers comment comments "
    "result results summary summaries section sections survey surveys strategy document consultation theme "
    "themes priority priorities plan plans work job jobs role roles process system systems group groups "
    "practice practices information view views need needs family families life health".split()
)
# Verb forms in -ing that work as prepositions ("considering the situation"), never as a label's noun.
_PREPOSITIONAL = frozenset("considering regarding including concerning according following during".split())
# Words before an adjective ("was helpful", "very professional") or before a noun ("the summary").
_ADJECTIVE_CUES = frozenset(
    "is are was were be been being am very so really too quite extremely more most less always felt feel "
    "feels seemed seems incredibly totally particularly especially get gets got getting become becomes "
    "became remain remains stay stays".split()
)
_DEGREE_CUES = frozenset("very so really too quite extremely more most less incredibly totally".split())
_VERB_CUES = frozenset(
    "i we they he she you who it to would will could should can cannot must might may did didn had have has "
    "i've we've they've you've i'd we'd hadn't haven't hasn't didn't don't doesn't wouldn't couldn't"
    .split()
)
# Words after a verb in -ing that make it a verb with an object ("raising this", "knowing what to do").
_OBJECT_CUES = frozenset("this that the a an it them me us him her my our your their what how when where why "
                         "whether if".split())
_NOUN_CUES = frozenset("the a an my our your their his her its this that these those each every any some".split())
# Endings of adjectives the lexicon may not know ("knowledgeable", "unhelpful").
_ADJECTIVE_ENDINGS = ("able", "ible", "ful", "ous", "ive", "less", "ical", "ish")

# Self-introductions, at the start of a sentence: "I'm a final-year dietetics student.", "I work as a
# podiatrist in a hospice.", "I've been a paramedic for 13 years.", "Speaking as a physio:", "As a carer,",
# "Student here.", "I care for my husband, who has Parkinson's."
_INTRODUCTION = re.compile(
    r"(?:(?<=^)|(?<=[.!?:]\s)|(?<=\n))(?:"
    r"(?:i'?m|i am)\s+(?:an?\s+(?!bit\b|little\b|lot\b)|\d+\b)[^.!?]*[.!?]"
    r"|i\s+(?:work|worked)\s+(?:as|in|for)\s[^.!?]*[.!?]"
    r"|i(?:'ve|\s+have)\s+been\s+an?\s[^.!?]*[.!?]"
    r"|i\s+(?:care\s+for|look\s+after)\s+my\s[^.!?]*[.!?]"
    r"|(?:speaking\s+)?as\s+an?\s+[\w' -]{1,40}?[,:]"
    r"|speaking\s+(?:from\s+experience|personally)\s*[,:.]"
    r"|(?!(?:the|this|that|it|we|they|i)\b)(?:\w[\w'-]*\s+){0,4}\w[\w'-]*\s+here\s*[.:,!]"
    r")\s*",
    re.IGNORECASE,
)


def without_introduction(text: str) -> str:
    """``text`` without the sentences or openings in which the writer says who they are."""
    return _INTRODUCTION.sub("", text).strip()


@lru_cache(maxsize=100_000)
def word_classes(word: str) -> frozenset[str]:
    """The word classes the lexicon lists for ``word`` ("NOUN", "VERB", "ADJ", "ADV"); empty when unknown."""
    from lemminflect import getAllLemmas

    return frozenset(getAllLemmas(word))


@lru_cache(maxsize=100_000)
def word_key(word: str) -> str:
    """What a word counts as in a label phrase: its dictionary form where the lexicon knows it, else its stem.

    Stems join words of different meaning ("different" and "difference", "clinical" and "clinic",
    "professional" and "profession"), so a theme in which many texts say "different" was labelled
    "Difference"; dictionary forms keep them apart and still join "waiting" with "wait", "therapies" with
    "therapy". Unknown words (names, acronyms, "physio", "AHPs") fall back to the stem.
    """
    from lemminflect import getAllLemmas

    lemmas = sorted({lemma for forms in getAllLemmas(word).values() for lemma in forms})
    return lemmas[0].lower() if lemmas else stem(word)


def can_be_noun(word: str) -> bool:
    """A word the lexicon lists as a noun, a gerund ("waiting", "parking"), or one it does not know
    (names, acronyms and jargon such as "physio", "AHPs", "Healthwatch") that does not look like an adjective."""
    classes = word_classes(word)
    if not classes:
        return not word.endswith(_ADJECTIVE_ENDINGS)
    if "NOUN" in classes or "PROPN" in classes:
        return True
    # A gerund ("waiting"), but not a participle the lexicon also lists as an adjective ("reassuring").
    return classes == {"VERB"} and word.endswith("ing") and word not in _PREPOSITIONAL


def can_be_adjective(word: str) -> bool:
    """A word the lexicon lists as an adjective, or an unknown one with an adjective's ending."""
    classes = word_classes(word)
    return "ADJ" in classes if classes else word.endswith(_ADJECTIVE_ENDINGS)


def is_verb_only(word: str) -> bool:
    """A word that can only be a verb and is no gerund ("let", "decide", "happen"): no phrase starts with one."""
    classes = word_classes(word)
    return bool(classes) and classes <= {"VERB"} and not (word.endswith("ing") and word not in _PREPOSITIONAL)


def uses(word: str, texts: Iterable[str]) -> tuple[float, float, float]:
    """How often ``word`` is used as an adjective, as a verb, and (for a word in -ing) as a verb or adjective,
    in ``texts``, as shares of its readable uses.

    Adjective: after "was", "very" and the like, or before another content word ("clinical academic").
    Verb: after a pronoun, "to" or an auxiliary ("I thought", "had to wait"). Noun: after "the", "a", "my".
    A word in -ing is a verb or an adjective after "very", "so" ("very reassuring") or before an object
    ("raising this", "knowing what to do").
    """
    adjective = verb = noun = degree = seen = 0
    for text in texts:
        tokens = text.lower().replace("\u2019", "'").split()
        words = [t.strip(".,;:!?()\"'") for t in tokens]
        for i, token in enumerate(words):
            if token != word:
                continue
            seen += 1
            before = words[i - 1] if i else ""
            after = words[i + 1] if i + 1 < len(words) and not tokens[i].endswith((",", ".", ";", ":")) else ""
            degree += before in _DEGREE_CUES or after in _OBJECT_CUES
            # In a list of adjectives ("friendly, professional and helpful"), the word is one too.
            listed = _adjective_only(words[i - 1] if i else "") or _adjective_only(
                words[i + 1] if i + 1 < len(words) else "") or (i + 2 < len(words) and words[i + 1] in (
                    "and", "&", "") and _adjective_only(words[i + 2])) or (
                    # "kind and professional", "caring and professional": joined to a word that can be one
                    i >= 2 and before in ("and", "&") and not after and can_be_adjective(words[i - 2]))
            if before in _VERB_CUES:
                verb += 1
            elif listed or before in _ADJECTIVE_CUES or (after and after not in STOP_WORDS and after.isalpha()):
                adjective += 1
            elif before in _NOUN_CUES or not after:
                noun += 1
    total = adjective + verb + noun
    return (adjective / max(total, 1), verb / max(total, 1), degree / max(seen, 1))


def _adjective_only(word: str) -> bool:
    """A word the lexicon lists as an adjective and not as a noun ("friendly", "helpful")."""
    classes = word_classes(word) if word.isalpha() else frozenset()
    return "ADJ" in classes and "NOUN" not in classes


def own_topical_words(text: str) -> list[str]:
    """The words of ``text`` that say what it is about: no self-introduction, tone, filler or generic words."""
    return [w for w in content_tokens(without_introduction(text))
            if len(w) > 2 and not is_tone_word(w) and w not in FILLER_HEADS and not w.startswith("xx")
            and w not in _VAGUE_WORDS]


def stems_of(words: Iterable[str]) -> frozenset[str]:
    """Snowball stems of ``words``."""
    return frozenset(stem(w) for w in words)


# Verbs and time words that carry no topic ("I'd like to know how it would be measured" has none).
_VAGUE_WORDS = frozenset(
    "need needs needed want wanted wants get gets getting given give gives make makes made go going went "
    "come coming came take took taken told tell ask asked seen see use used able possible sure maybe also "
    "still even ever always often sometimes usually quite rather little know knew known look looked like "
    "liked feel try tried trying talked happen happened happens start started back week weeks year years "
    "month months ago last next first new old lovely sorry worse better best shouldn wouldn couldn ll later "
    "earlier soon now then left right today yesterday tomorrow".split()
)
