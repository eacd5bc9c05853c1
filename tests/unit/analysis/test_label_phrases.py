"""Label phrases: which runs of words can name a theme, and which words count as the same word."""

from analysis.labels import PhraseIndex, label_from, label_of_words, phrases_of


def _surfaces(text: str) -> set[str]:
    return {surface for _, surface in phrases_of(text)}


def test_nouns_a_sentiment_lexicon_lists_stay_inside_topic_phrases() -> None:
    assert "waiting times" in _surfaces("Waiting times for appointments are too long")
    assert "parking charges" in _surfaces("The parking charges were too high")
    assert "research time" in _surfaces("Protected research time would have changed everything.")
    assert "social care" in _surfaces("Better links with social care, please")


def test_words_of_feeling_and_generic_words_are_no_phrase_on_their_own() -> None:
    found = _surfaces("I love the staff, they were great. Thanks for the care and I think it was good on paper")
    assert not found & {"love", "thanks", "care", "think", "great", "paper", "time"}
    assert "staff" in found


def test_an_adjective_and_a_noun_sharing_a_stem_are_different_phrases() -> None:
    # "different" and "difference" share the stem "differ"; a theme where people say "different" is not
    # about "difference" (the demo labelled such a theme "Difference").
    texts = ["The service is different in every county"] * 6 + ["It makes a real difference to families"] + [
        "Parking at the clinic is impossible", "Physio appointments were cancelled twice"] * 5
    index = PhraseIndex(texts)
    keys = {key for keys in index.keys for key in keys}
    assert {"different", "difference"} <= keys
    label, _ = label_from(index, list(range(7)), "fallback")
    assert label != "Difference"


def test_waiting_and_wait_are_one_phrase() -> None:
    index = PhraseIndex(["The waiting times are long", "The wait time was two hours", "Wait times are bad"])
    assert len({key for keys in index.keys for key in keys if "time" in key}) == 1


def test_whose_it_is_is_no_part_of_a_topic() -> None:
    found = _surfaces("My son's squint was only picked up at school. I did my master's in my own time.")
    assert "squint" in found
    assert not {"son squint", "son", "master"} & found
    assert "parkinson disease" in {key for key, _ in phrases_of("Parkinson's disease nurses")}


def test_plural_acronyms_keep_their_capitals_in_labels() -> None:
    texts = ["Primary care AHPs feel isolated", "AHPs in primary care need leaders", "More AHPs in primary care",
             "The NHS should count AHPs", "Parking at the clinic is impossible", "The car park was full"] * 2
    index = PhraseIndex(texts)
    label, top = label_from(index, list(range(4)) + list(range(6, 10)), "fallback")
    shown = " ".join([label, *top])
    assert "AHPs" in shown and "ahps" not in shown and "Ahps" not in shown
    assert index.readable("nhs") == "NHS"  # an acronym ending in S is not read as a plural


def test_a_pronoun_never_ends_a_label_phrase() -> None:
    assert not _surfaces("I've had brilliant AHPs and ones who didn't listen") & {"ones", "AHPs and ones"}


def test_of_two_phrases_in_the_same_texts_the_one_without_a_joining_word_leads() -> None:
    # "a net zero target and AHPs can help": the "and" joins two clauses, not two parts of one topic.
    texts = ["Agree about sustainability. The NHS has a net zero target and AHPs can help."] * 3 + [
        "Parking at the clinic is impossible", "The car park was full", "Physio appointments were cancelled"] * 3
    label, _ = label_from(PhraseIndex(texts), [0, 1, 2], "fallback")
    assert "and" not in label.split() and "zero" in label.lower()


def test_the_consultations_own_papers_never_name_a_theme() -> None:
    # Check-and-challenge replies name the summary, its sections and themes all the time; the live demo
    # labelled such themes "Section in general" and "Theme and choice".
    texts = ["This section of the summary misses the point about choice of clinic times",
             "The theme is right but the section on choice of clinic times is thin",
             "I agree with the theme in this section about choice of clinic times",
             "The summary section should say more about choice of clinic times"] * 2 + [
        "Parking at the clinic is impossible", "The car park was full", "Physio appointments were cancelled"] * 3
    label, top = label_from(PhraseIndex(texts), list(range(8)), "fallback")
    words = set(" ".join([label, *top]).lower().split())
    assert not words & {"section", "summary", "theme"}
    assert "choice" in label.lower() or "clinic times" in label.lower()


def test_keep_never_starts_or_ends_a_label_phrase() -> None:
    assert not {s for s in _surfaces("Early support keeps people in work") if s.split()[0] in ("keep", "keeps")}


def test_a_person_named_after_a_title_never_names_a_theme() -> None:
    # Praise thanks staff by name; six such texts in one phase-1 theme made "Schofield and mental health
    # issues" a label, and labels are published on What we heard.
    texts = [f"Dr Schofield was wonderful with my {w}" for w in ("pain", "knee", "back", "hip", "neck", "shoulder")]
    texts += ["Thank you Dr Schofield and Nurse Jones", "Mrs Watson explained my knee exercises"]
    texts += ["The nurse practitioner saw me quickly", "Our Nurse Practitioner was lovely"]
    texts += ["Parking at the clinic is impossible", "The car park was full again"] * 6
    index = PhraseIndex(texts)
    assert {"schofield", "jones", "watson"} <= index.names
    assert "practitioner" not in index.names  # written in lower case too: a word, not a name
    used = {word for keys in index.keys for key in keys for word in key.split()}
    assert not used & {"schofield", "jones", "watson"}
    label, top = label_from(index, list(range(8)), "fallback")
    assert "schofield" not in (label + " ".join(top)).lower()
    assert any("practitioner" in key for key in index.keys[8])


def test_a_theme_without_phrases_is_named_by_its_words_as_nouns_never_a_list() -> None:
    assert label_of_words(["helpful", "information", "pleasant"]) == "Helpfulness and information"
    assert label_of_words(["friendly", "polite", "staff"]) == "Friendliness and politeness"
    assert label_of_words(["schofield", "need", "pain"], frozenset({"schofield"})) == "Pain"
    assert label_of_words(["quickly", "told"]) == ""
