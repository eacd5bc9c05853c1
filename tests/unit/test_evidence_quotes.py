"""The evidence pack quotes what a theme is about, not just what was most supported."""

from consult.services.quotes import on_topic, topic_words


def test_a_quote_is_on_topic_when_it_uses_a_word_of_the_themes_name() -> None:
    words = topic_words({"label": "Waiting and referrals", "terms": ["let", "year"]})
    assert words == {"wait", "referr"}  # roots of the name; "and" and the general stored terms are left out
    assert on_topic("I waited twelve weeks for a referral.", words)
    assert on_topic("The waiting list is far too long.", words)
    assert not on_topic("Vision checks in reception year pick up problems early.", words)
    mental = topic_words({"label": "Mental health"})
    assert on_topic("Mental-health wards", mental) and not on_topic("As I mentioned before", mental)


def test_the_same_words_posted_again_are_quoted_once() -> None:
    from consult.services.exports_docx import distinct_quotes

    same = "Agree about diversity. I'm the only Black AHP in a senior role."
    candidates = [((2.0, "c1"), same, "Anon", "c1"), ((1.9, "c2"), same.upper(), "Anon", "c2"),
                  ((1.5, "i3"), "Race equality for staff", "Anon", "i3"),
                  ((1.0, "c4"), "Unpaid carers too", "Anon", "c4")]
    assert [q[3] for q in distinct_quotes(candidates)] == ["c1", "i3", "c4"]
