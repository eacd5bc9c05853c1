"""Theme labels an analyst would write: short noun phrases drawn from the texts, not lists of stems.

Candidate phrases are runs of one to three adjacent topical words in a text (stop words, sentiment and
politeness words break a run: "the car park was full" gives "car park"), keyed by their words' dictionary
forms (``analysis.words.word_key``: "waiting times" and "wait time" are one phrase) and shown in
their most common spelling; self-introductions ("I'm a physiotherapist working in ...") are not read. A phrase
scores by how many of the theme's texts use it times how much more often they do than the rest (class-based
TF-IDF over documents), with a bonus for two- and three-word phrases that several texts share. A phrase can
lead a label only when its last word names a topic (``analysis.words``): not an adjective ("Helpful"), not
filler ("sounds", "end") and, standing alone, not a word as general as "Staff" or "Advice"; such a word is
grown to the longer phrase it is mostly part of ("professional manner") or joined to the best topical phrase.
The label is that phrase, or two joined by "and" when the second is nearly as strong, never repeating a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from analysis.aside import GENERIC_WORDS, is_tone_word
from analysis.text import STOP_WORDS, tokenize
from analysis.words import (
    FILLER_HEADS,
    GENERIC_NOUNS,
    can_be_adjective,
    can_be_noun,
    is_verb_only,
    uses,
    without_introduction,
    word_classes,
    word_key,
)

MAX_PHRASE_WORDS = 3
MIN_PHRASE_DOCS = 2
SECOND_PHRASE_RATIO = 0.75  # a second phrase joins the label when it scores this much of the first
MAX_LABEL_WORDS = 7
CANDIDATES = 12  # best-scoring phrases a label is chosen from
PHRASE_BONUS = 0.35  # per extra word, for phrases at least MIN_PHRASE_DOCS texts share
EXTEND_SHARE = 0.2  # a longer phrase replaces its word when it has this share of the word's uses
COVERAGE_POWER = 1.0  # above 1 favours phrases many of the theme use over rare distinctive ones
ADJECTIVE_USE = 0.5  # a word that can be an adjective or a noun is an adjective when used so this often
VERB_USE = 0.5  # likewise a verb
DEGREE_USE = 0.2  # a word in -ing is an adjective when this share of its uses follow "very", "so", "really"
OTHER_SPELLING_SHARE = 0.25  # a phrase may be shown in another spelling that has this share of its uses
USE_SAMPLE = 200  # member texts read to see how a word is used
# Words that read badly at either end of a label ("waiting long", "need parking").
_EDGE_WORDS = frozenset(
    "need needs needed want wanted get getting given give make made go going went come came take took "
    "told tell ask asked seen see use used able possible sure maybe also still even ever always often "
    "sometimes usually quite rather little long short early late first last next new old know knew look "
    "looked feel listen explain arrive arrived answer answered receive received understand present "
    "quicker faster sooner slower bigger smaller quick real reality sense makes gets spent date notice ago "
    "years year months weeks days term willing whilst etc thing things idea ideas point points way ways "
    "lot lots kind sort part parts bit everyone anyone someone one ones keep keeps kept keeping misses missed".split()
)
# Words for the consultation's own papers ("the summary", "this section", "the theme"): replies in a
# check-and-challenge phase name them all the time, but a label made only of them says nothing of a topic
# ("Section in general", "Theme and choice").
_PAPER_WORDS = frozenset("summary summaries section sections theme themes survey surveys document documents "
                         "draft drafts wording".split())
_GENERIC_KEYS = frozenset(word_key(w) for w in GENERIC_NOUNS)
_CAPITALS = re.compile(r"\b[A-Z]{2}\b")
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,6}s")
# Punctuation, and hyphenated compounds ("board-level AHP leaders", "community-based"), whose parts make
# junk phrases ("level AHP", "community base").
_PUNCTUATION = re.compile(r"[,.;:!?()\[\]/\n\"]+|\s[-\u2013\u2014]\s|[A-Za-z]+(?:-[A-Za-z]+)+")
# Set phrases that read as topics word by word ("1st class", "springs to mind", "good on paper").
_PRAISE_IDIOMS = re.compile(r"\b(?:1st|first|top|world)[- ]class\b|\btop[- ]notch\b|\bsecond to none\b"
                            r"|\bsprings? to mind\b|\babove and beyond\b|\bover and above\b"
                            r"|\b(?:good|fine|great|nice|well) on paper\b"
                            r"|\b10 out of 10\b|\bten out of ten\b", re.IGNORECASE)


# Nouns of feeling or courtesy that sentiment lexicons list: never part of a topic's phrase.
_FEELING_NOUNS = frozenset(
    "love hate joy fun pleasure hope hopes fear fears thanks thank praise smile smiles luck shame gratitude "
    "happiness sadness delight relief disappointment frustration anger wish wishes credit kudos compliment "
    "compliments well done".split()
)
# Generic words that are nouns naming part of a topic ("waiting times", "social care"); the other generic
# words ("think", "keep", "thing") break a phrase.
_TOPICAL_GENERIC = frozenset("time times care treatment service services team teams place experience day job "
                             "work people person".split())


# Whose it is ("my son's squint", "patients' surgery", "my master's") says nothing of the topic and read as
# a label "Son squint": such a word is dropped and ends the phrase ("squint", "surgery").
_PERSONAL_POSSESSIVES = re.compile(
    r"\b(?:son|daughter|mum|mom|mother|dad|father|wife|husband|partner|child|baby|brother|sister|friend|"
    r"grandson|granddaughter|grandmother|grandfather|patient|person|master|bachelor)(?:'|\u2019)s\b"
    r"|\b(?:patients|parents|friends)(?:'|\u2019)(?=\s)")


# A title before a capitalised word marks a person's name ("Dr Schofield", "Nurse Jones", "Mrs Watson"). A
# label is published (What we heard) and must never name anyone: praise often thanks staff by name, and a few
# such texts in one theme made "Schofield and mental health issues" a label.
_TITLED = re.compile(r"\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Nurse|Sister|Matron|Prof|Professor)\.?\s+"
                     r"([A-Z][a-z]+)\b")


def personal_names(texts: Sequence[str]) -> frozenset[str]:
    """Words the texts use as a person's name after a title, in lower case; a word also written in lower case
    somewhere is an ordinary word after all ("Nurse Practitioner" and "a nurse practitioner")."""
    titled = {m.group(1).lower() for text in texts for m in _TITLED.finditer(text)}
    if not titled:
        return frozenset()
    lowered = re.compile(r"\b(" + "|".join(sorted(map(re.escape, titled))) + r")\b")
    ordinary = {m.group(1) for text in texts for m in lowered.finditer(text)}
    return frozenset(titled - ordinary)


def _breaks_phrase(token: str) -> bool:
    """A word that ends a candidate phrase: a tone or politeness word, unless it is a noun naming a topic.

    Clustering leaves out every sentiment-lexicon and generic word, but many are nouns that name the topic
    inside a phrase ("waiting times", "parking charges", "social care", "protected research time"); alone
    they are no phrase. Words the lexicon also lists as adjectives or adverbs ("great", "rude"), verbs only
    ("helped"), nouns of feeling ("thanks", "love") and generic words that name nothing ("think") still break it.
    """
    if not is_tone_word(token):
        return False
    if token in GENERIC_WORDS:
        return token not in _TOPICAL_GENERIC
    if token in _FEELING_NOUNS or token in STOP_WORDS:
        return True
    classes = word_classes(token)
    return not classes or not ({"NOUN"} <= classes) or "ADJ" in classes or "ADV" in classes


def noun_like(word: str) -> bool:
    """A rough first test for a word that can end a noun phrase (the lexicon decides later)."""
    if word in _EDGE_WORDS or len(word) < 3:
        return False
    return not (word.endswith(("ed", "ly")) and not word.endswith(("bed", "need", "speed", "feed", "family")))


# Joining words allowed inside a phrase, never at its ends: "speech and language therapy", "lack of beds".
CONNECTORS = frozenset({"and", "of", "for", "to", "in", "at", "on"})


@lru_cache(maxsize=200_000)
def _ends_run(token: str) -> bool:
    """A token that never joins a phrase (a stop word, a one-letter word, a tone word, a redaction mark)."""
    return token in STOP_WORDS or len(token) < 2 or _breaks_phrase(token) or token.startswith("xx")


@lru_cache(maxsize=200_000)
def _word_facts(word: str) -> tuple[str, bool, bool, bool, bool]:
    """What phrase-making asks of one word, worked out once: its key, whether it is a joining word, a tone
    word, one that can start a phrase and one that can end it."""
    if word in CONNECTORS:
        return word, True, False, False, False
    return (word_key(word), False, is_tone_word(word),
            word not in _EDGE_WORDS and not is_verb_only(word), noun_like(word))


def phrases_of(text: str, names: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(key, surface) of every candidate phrase in ``text``, each once; self-introductions are skipped, and
    ``names`` (people's names, lower case) end a phrase as punctuation does."""
    text = _PERSONAL_POSSESSIVES.sub(" . ", _PRAISE_IDIOMS.sub(" ", without_introduction(text)))
    # Two-letter words join a phrase only when written in capitals here ("GP", "OT"), not "1st" read as "st".
    capitals = {w.lower() for w in _CAPITALS.findall(text)}
    runs: list[list[str]] = [[]]
    # A phrase never spans punctuation: "arts therapies, orthoptics and prosthetics" is not one phrase.
    tokens = [t for part in _PUNCTUATION.split(text) for t in (*tokenize(part), "")]
    for token in tokens:
        if token in CONNECTORS and runs[-1]:
            runs[-1].append(token)
            continue
        if _ends_run(token) or (len(token) == 2 and token not in capitals) or token in names:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(token)
    found: dict[str, str] = {}
    for run in runs:
        facts = [_word_facts(w) for w in run]
        for size in range(1, MAX_PHRASE_WORDS + 2):
            for start in range(len(run) - size + 1):
                end = start + size - 1
                first, last = facts[start], facts[end]
                if first[1] or last[1] or not first[3] or not last[4]:
                    continue  # a joining word at an end, a word no phrase starts with, or none ends with
                content = [f for f in facts[start : end + 1] if not f[1]]
                if len(content) > MAX_PHRASE_WORDS or (len(content) == 1 and content[0][2]):
                    continue  # a tone word names a topic only inside a phrase ("waiting times", not "times")
                if len({f[0] for f in content}) < len(content):  # "ward ward", "mental health and mental"
                    continue
                found.setdefault(" ".join(f[0] for f in facts[start : end + 1]), " ".join(run[start : end + 1]))
    return list(found.items())


def _acronyms(texts: Sequence[str]) -> dict[str, str]:
    """Words written in capitals most of the time ("CPD", "NHS", "AHP") or as a plural of capitals ("AHPs",
    "GPs"), each with its most common such spelling, to show them so in labels."""
    cased: dict[str, Counter[str]] = {}
    lower: Counter[str] = Counter()
    for text in texts:
        for word in re.findall(r"\b[A-Za-z]{2,7}\b", text):
            if word.isupper() or _PLURAL_ACRONYM.fullmatch(word):
                cased.setdefault(word.lower(), Counter())[word] += 1
            else:
                lower[word.lower()] += 1
    return {w: spellings.most_common(1)[0][0] for w, spellings in cased.items()
            if sum(spellings.values()) > lower[w] and (len(w) <= 6 or w.endswith("s"))}


class PhraseIndex:
    """Candidate phrases of every text, for scoring against any grouping of the texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        """Read every text's phrases once."""
        self.texts = texts
        self.keys: list[tuple[str, ...]] = []
        self.surface: dict[str, Counter[str]] = {}
        self.document_frequency: Counter[str] = Counter()
        # One string per distinct phrase, shared by every text that uses it: 500,000 texts hold about 4 million
        # uses of a few thousand phrases, 220 MB as separate strings.
        shared: dict[str, str] = {}
        self.names = personal_names(texts)
        for text in texts:
            pairs = phrases_of(text, self.names)
            self.keys.append(tuple(shared.setdefault(k, k) for k, _ in pairs))
            for key, words in pairs:
                spellings = self.surface.get(key)
                if spellings is None:  # not setdefault: that built a Counter for every use of a phrase
                    spellings = self.surface[key] = Counter()
                spellings[words] += 1
                self.document_frequency[key] += 1
        self.n = len(texts)
        self.acronyms = _acronyms(texts)
        # (key, members) -> (kind, spelling it was judged by); the spelling a key was last judged by.
        self._kinds: dict[tuple[str, int, int], tuple[str, str]] = {}
        self._spelling: dict[str, str] = {}
        # The phrase counts of the last group of texts asked about, and the longer phrases holding each word:
        # labelling asks about one theme (or sub-theme) many times in a row, and recounting its phrases for
        # every candidate took a sixth of the theme stage (cProfile, 60,000 texts).
        self._counted: tuple[tuple[int, ...], Counter[str], dict[str, list[str]]] | None = None

    def readable(self, key: str) -> str:
        """A phrase's spelling (the one it was last judged by, else the most common), acronyms in capitals."""
        words = self._spelling.get(key, self.surface[key].most_common(1)[0][0]).split()
        return " ".join(self.acronyms.get(w, w) for w in words)

    @staticmethod
    def stems(key: str) -> frozenset[str]:
        """The word keys of a phrase key (joining words left out)."""
        return frozenset(key.split()) - CONNECTORS

    @staticmethod
    def stems_of_text(text: str) -> frozenset[str]:
        """The word keys of the content words of a readable phrase or label."""
        return frozenset(word_key(w) for w in tokenize(text) if w not in CONNECTORS and w not in STOP_WORDS)

    def kind(self, key: str, members: Sequence[int]) -> str:
        """ "ok" for a phrase that can lead a label, "weak" for one too general to stand alone ("Staff"), "bad"
        for one whose last word names no topic (an adjective, a verb, filler such as "sounds"). A phrase is
        judged by its best spelling, which it is then shown in ("waiting" rather than "wait")."""
        cache = (key, len(members), members[0] if len(members) else -1)
        if cache not in self._kinds:
            spellings = self.surface[key].most_common(3)
            first = spellings[0][0]
            best = (self._kind_of(first, key, members), first)
            # Another common spelling of the same words may read as a noun where the usual one does not
            # ("waiting" where "wait" is mostly a verb); never a rarer spelling to escape "weak".
            for spelling, count in spellings[1:]:
                if best[0] != "bad" or count < OTHER_SPELLING_SHARE * sum(self.surface[key].values()):
                    break
                kind = self._kind_of(spelling, key, members)
                if kind != "bad":
                    best = (kind, spelling)
            self._kinds[cache] = best
        self._spelling[key] = self._kinds[cache][1]
        return self._kinds[cache][0]

    def _kind_of(self, spelling: str, key: str, members: Sequence[int]) -> str:
        """The kind of one spelling of a phrase (see ``kind``)."""
        words = spelling.split()
        head = words[-1]
        if head in FILLER_HEADS or not can_be_noun(head):
            return "bad"
        if all(w in _PAPER_WORDS or w in CONNECTORS for w in words):
            return "bad"
        if "and" in words and all(can_be_adjective(w) for w in words if w not in CONNECTORS):
            return "bad"  # "clear and specific", "clean and tidy": qualities, not a topic
        classes = word_classes(head)
        if classes == {"VERB"}:  # a gerund: "waiting" is a topic, "reassuring" (said "very reassuring") is not
            return "bad" if uses(head, self._using(key, members))[2] >= DEGREE_USE else "ok"
        if "NOUN" in classes and classes & {"ADJ", "VERB"}:
            adjective, verb, _ = uses(head, self._using(key, members))
            # "professional", "clinical" used as adjectives, "thought", "spoke" as verbs: say what about.
            if ("ADJ" in classes and adjective >= ADJECTIVE_USE) or ("VERB" in classes and verb >= VERB_USE):
                return "bad"
            if len(words) == 1 and adjective >= ADJECTIVE_USE:
                return "weak"  # mostly before another word: a verb ("prevention builds ...") or "phone calls"
        if len(words) == 1 and (head in GENERIC_NOUNS or key in _GENERIC_KEYS):
            return "weak"
        return "ok"

    def _using(self, key: str, members: Sequence[int]) -> list[str]:
        """Up to USE_SAMPLE member texts that use the phrase."""
        found = []
        for i in members:
            if key in self.keys[i]:
                found.append(self.texts[i])
                if len(found) == USE_SAMPLE:
                    break
        return found

    def ranked(self, members: Sequence[int], count: int = 5) -> list[tuple[str, float]]:
        """The ``count`` most distinctive phrase keys of the texts at ``members`` with their scores, no
        phrase inside another."""
        if not members:
            return []
        inside = self._counts(members)[0]
        size = len(members)
        scored = []
        for key, count_in in inside.items():
            if count_in < min(MIN_PHRASE_DOCS, size):
                continue
            words = sum(part not in CONNECTORS for part in key.split())
            outside = self.document_frequency[key] - count_in
            rest = max(self.n - size, 1)
            share_in = count_in / size
            # Distinctiveness: the phrase's share inside against its share outside (smoothed), weighted by
            # how much of the theme uses it.
            lift = np.log((share_in + 1e-3) / ((outside + 0.5) / (rest + 1.0) + 1e-3))
            score = share_in**COVERAGE_POWER * max(lift, 0.0) * (1 + PHRASE_BONUS * (words - 1))
            if score > 0:
                # On a tie, a phrase without a joining word: "net zero target", not "zero target and AHPs" from
                # "a net zero target and AHPs can help".
                joins = len(key.split()) - words
                scored.append((score, -words, -joins, key))
        scored.sort(reverse=True)
        chosen: list[tuple[str, float]] = []
        for score, _, _, key in scored:
            parts = self.stems(key)
            if any(parts <= self.stems(c) or self.stems(c) <= parts for c, _ in chosen):
                continue
            chosen.append((key, float(score)))
            if len(chosen) == count:
                break
        return chosen

    def top(self, members: Sequence[int], count: int = 5) -> list[str]:
        """The ``count`` most distinctive phrase keys of the texts at ``members``, no phrase inside another."""
        return [key for key, _ in self.ranked(members, count)]

    def extend(self, members: Sequence[int], key: str) -> str:
        """A one-word phrase grown to the longer phrase a good share of its uses belong to ("waiting times"),
        if that phrase can lead a label."""
        if " " in key:
            return key
        counts, holding = self._counts(members)
        base = self.scores(members, [key])[0] * max(len(members), 1)
        best = sorted(((counts[k], k) for k in holding.get(key, ())
                       if counts[k] >= max(MIN_PHRASE_DOCS, EXTEND_SHARE * base)), reverse=True)
        return next((k for _, k in best if self.kind(k, members) != "bad"), key)

    def scores(self, members: Sequence[int], keys: Sequence[str]) -> list[float]:
        """Share of the texts at ``members`` that use each phrase key."""
        inside = self._counts(members)[0]
        return [inside[k] / max(len(members), 1) for k in keys]

    def _counts(self, members: Sequence[int]) -> tuple[Counter[str], dict[str, list[str]]]:
        """How many of the texts at ``members`` use each phrase, and the longer phrases holding each word."""
        identity = tuple(members)
        if self._counted is None or self._counted[0] != identity:
            inside: Counter[str] = Counter()
            for i in members:
                inside.update(self.keys[i])
            holding: dict[str, list[str]] = {}
            for key in inside:
                if " " in key:
                    for part in set(key.split()):
                        holding.setdefault(part, []).append(key)
            self._counted = (identity, inside, holding)
        return self._counted[1], self._counted[2]


def label_from(index: PhraseIndex, members: Sequence[int], fallback: str,
               taken: set[str] | frozenset[str] = frozenset(),
               exclude: Sequence[str] = ()) -> tuple[str, list[str]]:
    """A label ("Car park and parking charges") and the theme's top phrases in readable form.

    The label leads with the best phrase whose head names a topic; a phrase too general to stand alone
    ("Staff", "Advice") or a second strong phrase is joined to it by "and", never one that repeats a word of
    the first. A label already in ``taken`` (another theme's) gets the next phrase joined to it; phrases made
    only of the words of ``exclude`` (a parent theme's label) are not used, so a sub-theme says what sets it
    apart.
    """
    excluded = frozenset().union(*(index.stems_of_text(e) for e in exclude)) if exclude else frozenset()
    candidates: list[tuple[str, float, str]] = []  # key, score, "ok" or "weak"
    for key, score in index.ranked(members, CANDIDATES + 4 * len(exclude)):
        if excluded and index.stems(key) <= excluded:
            continue
        kind = index.kind(key, members)
        # A word grows to the longer phrase a good share of its uses belong to ("waiting" -> "waiting times",
        # "professional" -> "professional manner").
        grown = index.extend(members, key)
        if grown != key:
            kind = index.kind(grown, members)
        if kind == "bad":
            continue
        if any(index.stems(grown) & index.stems(k) for k, _, _ in candidates):
            continue
        candidates.append((grown, score, kind))
    if not candidates:
        return fallback, []
    readable = [index.readable(k) for k, _, _ in candidates]
    lead = next((i for i, (_, _, kind) in enumerate(candidates) if kind == "ok"), 0)
    label, used = readable[lead], [lead]
    if all(kind == "weak" for _, _, kind in candidates):
        # Words too general to stand alone and no topic to join them to: say so ("Staff in general"), once.
        general = f"{label[:1].upper()}{label[1:]} in general"
        return (fallback, []) if general.lower() in taken else (general, readable)
    # A second phrase when the lead cannot stand alone, when a phrase scored above the lead was too general
    # to lead, or when the next phrase is nearly as strong.
    second = next((i for i in range(len(candidates)) if i != lead), None)
    if second is not None and " and " not in label + readable[second] and (
            candidates[lead][2] == "weak" or second < lead
            or candidates[second][1] >= SECOND_PHRASE_RATIO * candidates[lead][1]):
        # A general word goes first, so the label ends on its topic ("Advice and exercises").
        pair = [second, lead] if candidates[second][2] == "weak" else [lead, second]
        joined = f"{readable[pair[0]]} and {readable[pair[1]]}"
        if len(joined.split()) <= MAX_LABEL_WORDS:
            label, used = joined, pair
    if label.lower() in taken:
        extra = next((i for i in range(len(candidates)) if i not in used and " and " not in readable[i]), None)
        if extra is not None:
            pair = [extra, lead] if candidates[extra][2] == "weak" else [lead, extra]
            label, used = f"{readable[pair[0]]} and {readable[pair[1]]}", pair
    # The label's own phrases first: descriptions say "about <label phrases> and ...", and the typical
    # example is looked for by them.
    ordered = [readable[i] for i in used] + [r for i, r in enumerate(readable) if i not in used]
    return label[:1].upper() + label[1:], ordered[:5]


def label_of_words(words: Sequence[str], names: frozenset[str] = frozenset()) -> str:
    """A label from a theme's top words when no phrase can lead one: the first two that can be nouns, a
    quality named as a noun ("helpful" as "Helpfulness and information"); empty when none can."""
    nouns: list[str] = []
    for word in (w.lower() for w in words):
        if " " in word or word in names or word in _EDGE_WORDS or word in FILLER_HEADS:
            continue
        noun = word if can_be_noun(word) and not can_be_adjective(word) else _quality(word)
        if noun and all(word_key(noun) != word_key(n) for n in nouns):
            nouns.append(noun)
        if len(nouns) == 2:
            break
    label = " and ".join(nouns)
    return label[:1].upper() + label[1:]


def _quality(word: str) -> str:
    """The noun of an adjective the lexicon knows ("helpful": "helpfulness", "friendly": "friendliness")."""
    if not can_be_adjective(word):
        return ""
    stem_ = word[:-1] + "i" if word.endswith("y") else word
    noun = stem_ + "ness"
    return noun if "NOUN" in word_classes(noun) else ""


def label_phrases(label: str, top: Sequence[str]) -> list[str]:
    """The phrases a label from ``label_from`` is made of (its ``top`` list starts with them); none for a
    fallback label."""
    if len(top) > 1 and label.lower() == f"{top[0]} and {top[1]}".lower():
        return list(top[:2])
    return list(top[:1]) if top and label.lower().startswith(top[0].lower()) else []


def flat(text: str) -> str:
    """A title and body on separate lines read as sentences on one line ("Title. Body")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:;" or i == len(lines) - 1 else line + "." for i, line in enumerate(lines))
