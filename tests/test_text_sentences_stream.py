"""`complete_sentences`: a reply arriving in pieces is spoken in the sentences of the whole text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tts.text.sentences import complete_sentences, split_sentences

# Korean syllables, spaces and newlines, final marks, closers and soft breaks: every kind of
# character the splitter looks at.
TEXT = st.text(alphabet="가나다 \n.?!…\"'”’)],", max_size=120)


def stream_sentences(text: str, cuts: list[int], max_chars: int) -> list[str]:
    """Feed `text` cut at `cuts` through complete_sentences, then split what is left at the end."""
    spoken: list[str] = []
    rest, previous = "", 0
    for cut in [*sorted(cuts), len(text)]:
        done, rest = complete_sentences(rest + text[previous:cut], max_chars)
        spoken.extend(done)
        previous = cut
    return spoken + split_sentences(rest, max_chars)


@settings(max_examples=400, deadline=None)
@given(TEXT, st.lists(st.integers(min_value=0, max_value=120), max_size=12), st.sampled_from([10, 13, 40]))
def test_pieces_give_the_sentences_of_the_whole_text(text: str, cuts: list[int], max_chars: int) -> None:
    cuts = [min(cut, len(text)) for cut in cuts]
    assert stream_sentences(text, cuts, max_chars) == split_sentences(text, max_chars)


def test_a_sentence_is_complete_once_a_space_follows_its_mark() -> None:
    assert complete_sentences("안녕하세요.") == ([], "안녕하세요.")
    assert complete_sentences("안녕하세요. ") == (["안녕하세요."], "")
    assert complete_sentences("안녕하세요. 오늘은 ") == (["안녕하세요."], "오늘은 ")
    assert complete_sentences("기온은 3.5도예요") == ([], "기온은 3.5도예요")


def test_a_closing_quote_at_the_end_waits_for_what_follows() -> None:
    # Followed by more text the quote is part of the break; at the very end it stays.
    assert complete_sentences('"좋아요." ') == ([], '"좋아요." ')
    assert complete_sentences('"좋아요." 네') == (['"좋아요.'], "네")
    assert split_sentences('"좋아요." ') == ['"좋아요."']


def test_an_over_long_sentence_is_cut_before_it_ends() -> None:
    text = "가나다라마 " * 5  # 30 characters, no final mark
    done, rest = complete_sentences(text, max_chars=12)
    assert done and all(len(sentence) <= 12 for sentence in done)
    assert done + split_sentences(rest, 12) == split_sentences(text, 12)
    assert rest.endswith(" ")  # the next piece joins the rest as written


def test_an_over_long_sentence_ending_in_a_quote_is_not_cut_early() -> None:
    # At max_chars=10, '가나다 라마바사아."' is 11 characters only with its quote, which the space
    # arriving next turns into part of the break: the sentence is never cut.
    text = '가나다 라마바사아." 네'
    assert split_sentences(text, 10) == ["가나다 라마바사아.", "네"]
    assert stream_sentences(text, [11], 10) == split_sentences(text, 10)
