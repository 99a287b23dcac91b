"""Slack formatting of answers (bot/blocks.py) and parsing of questions (bot/slack_text.py)."""
import warnings

import pytest

from spacy_spanqa.bot import blocks, slack_text
from spacy_spanqa.results import Answer, QAResult, RetrievedPassage
from tests.bot.fakes import EXPENSES, LEAVE, FakeAnswerer, passage
from tests.bot.mock_slack import BOT_USER_ID


def test_excerpt_bolds_the_answer_span_and_escapes_slack_control_characters():
    text = "A & B <said> the answer is 42 > 41."
    start = text.index("42")
    excerpt = blocks.highlight_excerpt(text, start, start + 2)
    assert excerpt == "> A &amp; B &lt;said&gt; the answer is *42* &gt; 41."


def test_excerpt_of_a_long_passage_is_cut_around_the_answer_with_ellipses():
    text = "word " * 400 + "ANSWER" + " word" * 400
    start = text.index("ANSWER")
    excerpt = blocks.highlight_excerpt(text, start, start + 6, context_chars=50)
    assert excerpt.startswith("> …word") and excerpt.endswith("word…")
    assert "*ANSWER*" in excerpt and len(excerpt) < 140


def test_excerpt_stays_under_slacks_section_limit_even_when_escaping_grows_it():
    text = "&" * 5000 + "x" + "&" * 5000
    excerpt = blocks.highlight_excerpt(text, 5000, 5001)
    assert len(excerpt) <= blocks.MAX_SECTION_CHARS + 2 and "*x*" in excerpt


def test_answer_spanning_lines_is_bolded_line_by_line():
    text = "Offices:\nBerlin\nParis\nend"
    start, end = text.index("Berlin"), text.index("Paris") + len("Paris")
    assert blocks.highlight_excerpt(text, start, end) == "> Offices:\n> *Berlin*\n> *Paris*\n> end"


def test_source_is_a_link_when_the_passage_has_a_url_else_title_and_path():
    assert blocks.source_mrkdwn(EXPENSES) == "<https://wiki.example.com/expenses|Expenses> `handbook/expenses.md`"
    assert blocks.source_mrkdwn(LEAVE) == "*Leave policy* `handbook/leave.md`"
    odd = passage("x#0", "t", "R&D <team>", "", url="https://x.example/a|b c")
    assert blocks.source_mrkdwn(odd) == "<https://x.example/a%7Cb%20c|R&amp;D &lt;team&gt;>"


def test_answer_message_has_answer_excerpt_source_confidence_and_buttons():
    result = FakeAnswerer().ask("how many vacation days?")
    text, message = blocks.answer_message(result, "abc123")
    assert text == "Answer: 25 days (source: Leave policy)"
    assert [b["type"] for b in message] == ["section", "section", "context", "context_actions"]
    assert message[0]["text"]["text"] == "*25 days*"
    assert "Confidence: 87%" in message[2]["elements"][0]["text"]
    buttons = message[3]["elements"][0]
    assert buttons["type"] == "feedback_buttons"
    assert blocks.parse_feedback_action({"action_id": buttons["action_id"], "value": buttons["negative_button"]["value"]}) == (
        "not_helpful",
        "abc123",
    )


def test_classic_feedback_buttons_carry_the_same_votes():
    _, native = blocks.answer_message(FakeAnswerer().ask("vacation?"), "abc123")
    classic = blocks.with_classic_feedback(native)
    assert [b["type"] for b in classic] == ["section", "section", "context", "actions"]
    votes = [blocks.parse_feedback_action(e) for e in classic[-1]["elements"]]
    assert votes == [("helpful", "abc123"), ("not_helpful", "abc123")]


def test_follow_up_answer_says_how_the_question_was_read():
    result = FakeAnswerer().ask("When did the Toronto office open?")
    text, message = blocks.answer_message(result, "id", read_with="When did the Lisbon office open?")
    assert text.startswith("Answer: 2023")
    assert "Read with the earlier question as: _When did the Toronto office open?_" in message[0]["elements"][0]["text"]


def test_no_answer_message_says_so_and_lists_each_closest_source_once():
    second_leave = passage("leave.md#1", "More leave rules.", LEAVE.title, LEAVE.path)
    result = QAResult("q?", None, [], [RetrievedPassage(LEAVE, 3), RetrievedPassage(second_leave, 2), RetrievedPassage(EXPENSES, 1)])
    text, message = blocks.answer_message(result)
    assert "couldn't find an answer" in text
    sources = message[1]["text"]["text"]
    assert sources.count("Leave policy") == 1 and "Expenses" in sources
    assert message[-1]["type"] != "actions"  # no answer id given, no buttons


def test_asked_by_repeats_the_question_for_slash_commands():
    result = FakeAnswerer().ask("vacation <days>?")
    _, message = blocks.answer_message(result, "id", asked_by="U1")
    assert message[0]["elements"][0]["text"] == "<@U1> asked: vacation &lt;days&gt;?"


def test_other_candidates_are_shown_with_their_confidence():
    result = FakeAnswerer().ask("vacation?")
    result.candidates = [Answer("vacation?", "5", 0.2, 0, 1, passage=LEAVE)]
    _, message = blocks.answer_message(result)
    assert "Other candidates: 5 (20%)" in message[2]["elements"][0]["text"]


def test_question_from_text_strips_the_bot_mention_and_slack_markup():
    text = f"<@{BOT_USER_ID}>   who approves  <https://x.example|expenses> in <#C1|finance> &amp; <@U2|ann>? <!here>"
    assert slack_text.question_from_text(text, BOT_USER_ID) == "who approves expenses in #finance & @ann? @here"
    assert slack_text.question_from_text(f"<@{BOT_USER_ID}|qa>", BOT_USER_ID) == ""
    assert slack_text.question_from_text(None) == ""


def test_looks_like_question():
    assert slack_text.looks_like_question("and carry over?")
    assert slack_text.looks_like_question("How do I get a laptop")
    assert not slack_text.looks_like_question("thanks, that helps!")
    assert not slack_text.looks_like_question("")


def test_text_helpers_at_their_old_home_in_blocks_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="moved to spacy_spanqa.bot.slack_text.question_from_text"):
        assert blocks.question_from_text(f"<@{BOT_USER_ID}> hi &amp; bye", BOT_USER_ID) == "hi & bye"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert blocks.escape("a < b") == "a &lt; b"  # what blocks itself uses stays importable without a warning


def test_classic_and_native_feedback_buttons_share_one_action_id_prefix():
    classic = blocks.feedback_actions("abc")["elements"]
    assert [e["action_id"] for e in classic] == [f"{blocks.FEEDBACK_ACTION}_helpful", f"{blocks.FEEDBACK_ACTION}_not_helpful"]
    assert not hasattr(blocks, "FEEDBACK_ACTION_PREFIX")


def test_mentions_finds_the_bot_with_or_without_a_label():
    assert slack_text.mentions(f"hi <@{BOT_USER_ID}|qa>", BOT_USER_ID)
    assert not slack_text.mentions("hi <@U2>", BOT_USER_ID)
    assert not slack_text.mentions("hi", None)
