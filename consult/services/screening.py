"""Automatic checks before publication: personal details that break anonymity, abuse, and safeguarding.

Pure functions over text (no database), so they are cheap on the posting path and easy to test. The word
lists here were written for this project and ship under its licence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# What the author is told, in plain words, for each automatic hold.
HOLD_MESSAGES = {
    "email": "it contains an email address",
    "phone": "it contains a phone number",
    "nhs_number": "it contains what looks like an NHS number",
    "postcode": "it contains a full postcode",
    "named_person": "it names a person (for example \u201cDr Smith\u201d or \u201cNurse Jones\u201d)",
    "abuse": "it contains language that is abusive or offensive",
}
SAFEGUARDING_MESSAGES = {
    "self_harm": "it may describe someone being at risk of harming themselves",
    "abuse_disclosure": "it may describe someone being abused or harmed",
    "patient_safety": "it may describe a patient safety incident",
}
PERSONAL = ("email", "phone", "nhs_number", "postcode", "named_person")

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+\s*(?:@|\(at\)|\[at\])\s*[A-Za-z0-9-]+(?:\s*(?:\.|\(dot\))\s*[A-Za-z0-9-]+)+")
# UK numbers: 0 or +44 / 0044 then 9-10 more digits, with spaces, dashes, dots or brackets between groups.
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)(?:[\s().-]*\d){9,10}(?!\d)")
_TEN_DIGITS = re.compile(r"(?<!\d)(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?!\d)")
_POSTCODE = re.compile(r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
# Abbreviated titles may end in a full stop ("Dr. Brown"); after a whole word a full stop ends the sentence.
_TITLES = r"(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof)\.?|Doctor|Nurse|Miss|Professor|Sister|Matron|Midwife|Consultant)"
_NAMED = re.compile(rf"\b(?i:{_TITLES})\s+([A-Z][a-z]*(?:[-'\u2019][A-Z]?[a-z]+)?)\b")
# Capitalised words after a title that are roles or services, not names ("Nurse Practitioner", "Dr Foster" aside).
_NOT_NAMES = frozenset("""
practitioner practitioners prescriber prescribers associate associates led leads lead specialist specialists
consultant consultants appointments appointment services service team teams who and the in at on for with
training education advice line clinic clinics station stations care practice practices surgery surgeries
i a however but then so after when this that they he she it we my our there also what still nothing everything
if nurse nurses doctor doctors staff degree degrees apprentice apprentices apprenticeship apprenticeships
""".split())

# Abuse: offensive words and direct insults, matched as whole words after simple de-obfuscation.
ABUSE_WORDS = frozenset("""
fuck fucks fucked fucker fuckers fucking motherfucker motherfuckers cunt cunts twat twats wanker wankers
bastard bastards bitch bitches dickhead dickheads prick pricks arsehole arseholes asshole assholes
shithead shitheads scumbag scumbags retard retards retarded spastic spastics spaz faggot faggots fag fags
tranny trannies paki pakis nigger niggers nigga chink chinks kike kikes gyppo gyppos pikey pikeys
whore whores slag slags bellend bellends knobhead knobheads
""".split())
ABUSE_PHRASES = (
    r"\b(?:i\s*(?:will|'ll|am going to|'m going to)|we\s*(?:will|'ll))\s+"
    r"(?:kill|hurt|stab|batter|find)\s+(?:you|him|her|them)\b",
    r"\bgo\s+(?:and\s+)?(?:die|kill\s+yourself)\b",
    r"\bkys\b",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s", "!": "i", "*": "u"})

# Safeguarding: first-person disclosures, not discussion of services ("suicide prevention" is not a hold).
SAFEGUARDING_PATTERNS = {
    "self_harm": (
        r"\b(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|starve|starving)\s+myself\b",
        r"\b(?:end|ending|take|taking)\s+my\s+(?:own\s+)?life\b",
        r"\bi(?:\s+am|'m|\u2019m|\s+feel|\s+have\s+been|\s+was|\s+keep\s+feeling)\s+(?:so\s+|really\s+|very\s+)?suicidal\b",
        r"\b(?:don'?t|do\s+not|no\s+longer)\s+want\s+to\s+(?:live|be\s+alive|be\s+here\s+any\s*more|go\s+on)\b",
        r"\bbetter\s+off\s+dead\b",
        r"\bi\s+(?:want|wanted|am\s+going|'m\s+going)\s+to\s+die\b",
        r"\bi\s+(?:self[-\s]?harm|have\s+been\s+self[-\s]?harming|am\s+self[-\s]?harming)\b",
        r"\b(?:planning|plan)\s+to\s+(?:overdose|end\s+it)\b",
    ),
    "abuse_disclosure": (
        r"\b(?:he|she|they|my\s+\w+)\s+(?:hits|hit|beats|beat|kicks|kicked|punches|punched|chokes|choked|rapes|raped|abuses|abused|threatens|threatened|touches|touched)\s+(?:me|us|my\s+(?:child|children|son|daughter|kids?|mum|dad|mother|father))\b",
        r"\bi\s+(?:am|'m|was|have\s+been|\u2019m)\s+(?:being\s+)?(?:abused|raped|assaulted|beaten|groomed|trafficked)\b",
        r"\b(?:scared|afraid|frightened)\s+to\s+go\s+home\b",
        r"\b(?:being|was|were)\s+(?:sexually\s+)?abused\s+by\b",
    ),
    "patient_safety": (
        r"\b(?:gave|given|giving|got|prescribed|received)\s+(?:me|him|her|them|my\s+\w+\s+)?(?:the\s+)?wrong\s+(?:medication|medicine|drug|drugs|dose|dosage|tablets|blood|insulin)\b",
        r"\b(?:left|lying)\s+(?:me|him|her|them|my\s+\w+)\s+(?:on\s+the\s+floor|in\s+(?:soiled|wet|dirty)|without\s+(?:food|water|pain\s+relief)|for\s+\d+\s+hours)\b",
        r"\b(?:operated\s+on|amputated)\s+the\s+wrong\b",
        r"\b(?:developed|got|has|had)\s+(?:a\s+|grade\s+\d\s+)?(?:pressure|bed)\s*sores?\s+(?:because|after|while|on\s+the\s+ward)\b",
        r"\bnobody\s+(?:came|checked|helped)\s+(?:when|after)\s+(?:i|he|she|they|my\s+\w+)\s+(?:fell|collapsed)\b",
    ),
}
_SAFEGUARDING = {kind: [re.compile(p, re.IGNORECASE) for p in patterns]
                 for kind, patterns in SAFEGUARDING_PATTERNS.items()}
_ABUSE_PHRASES = [re.compile(p, re.IGNORECASE) for p in ABUSE_PHRASES]


@dataclass(frozen=True)
class Screening:
    """What the automatic checks found: reasons to hold (with plain messages) and any safeguarding concern."""

    holds: tuple[str, ...] = ()
    safeguarding: tuple[str, ...] = ()
    matches: dict[str, int] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        """Whether the text must wait for a person before it is published."""
        return bool(self.holds or self.safeguarding)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason, safeguarding first."""
        return self.safeguarding + self.holds

    def explanation(self) -> str:
        """The reasons in plain words: "it contains a phone number and it names a person"."""
        parts = [SAFEGUARDING_MESSAGES[r] for r in self.safeguarding] + [HOLD_MESSAGES[r] for r in self.holds]
        if len(parts) <= 1:
            return "".join(parts)
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def nhs_number_valid(digits: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 on the first nine digits give the tenth."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def find_nhs_numbers(text: str) -> list[str]:
    """Ten-digit groups (3-3-4, spaces or dashes allowed) that pass the NHS number check."""
    found = []
    for match in _TEN_DIGITS.finditer(text):
        digits = "".join(match.groups())
        if nhs_number_valid(digits) and len(set(digits)) > 1:
            found.append(digits)
    return found


def find_phones(text: str) -> list[str]:
    """UK phone numbers (landline, mobile, 0800, +44) written with or without spaces."""
    found = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        national = "0" + digits[2:] if digits.startswith("44") else digits
        national = "0" + digits[4:] if digits.startswith("0044") else national
        if national.startswith("0") and len(national) in (10, 11) and national[1] != "0":
            found.append(national)
    return found


def find_named_people(text: str) -> list[str]:
    """Titles followed by a capitalised name ("Dr Patel", "nurse Jones"), not roles ("Nurse Practitioner")."""
    return [m.group(0) for m in _NAMED.finditer(text) if m.group(1).lower() not in _NOT_NAMES]


def _words(text: str) -> list[str]:
    """Lower-case words after undoing common obfuscation (f*ck, sh1t, spaced letters aside)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().translate(_LEET)
    return re.findall(r"[a-z]+", folded)


def find_abuse(text: str) -> bool:
    """Whether the text contains a listed offensive word or a threat."""
    if any(word in ABUSE_WORDS for word in _words(text)):
        return True
    return any(p.search(text) for p in _ABUSE_PHRASES)


def screen(*texts: str | None) -> Screening:
    """Run every automatic check over the texts of one contribution (title and body)."""
    text = "\n".join(t for t in texts if t)
    counts: dict[str, int] = {}
    emails = _EMAIL.findall(text)
    if emails:
        counts["email"] = len(emails)
    # An email's digits are not a phone number, and an NHS number is not a phone number either.
    rest = _EMAIL.sub(" ", text)
    nhs = find_nhs_numbers(rest)
    if nhs:
        counts["nhs_number"] = len(nhs)
    phones = [p for p in find_phones(rest) if p not in nhs]
    if phones:
        counts["phone"] = len(phones)
    postcodes = _POSTCODE.findall(rest)
    if postcodes:
        counts["postcode"] = len(postcodes)
    named = find_named_people(rest)
    if named:
        counts["named_person"] = len(named)
    if find_abuse(text):
        counts["abuse"] = 1
    safeguarding = tuple(kind for kind, patterns in _SAFEGUARDING.items() if any(p.search(text) for p in patterns))
    holds = tuple(k for k in (*PERSONAL, "abuse") if k in counts)
    return Screening(holds=holds, safeguarding=safeguarding, matches=counts)
