"""The Slack bot end to end over HTTP: signed Slack requests in, Web API calls
out to a mock Slack on 127.0.0.1, with a fake answerer."""
import json
import sqlite3
import time

import pytest

from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import (
    BOT_ID,
    BOT_USER_ID,
    SIGNING_SECRET,
    USER_ID,
    app_mention,
    feedback_click,
    message,
    next_ts,
    post,
    send_event,
    send_form,
    signed_headers,
    slash_command,
)
from tests.bot.running import RunningBot

QUIET = 0.3  # seconds without a further call before "exactly one" is believed


@pytest.fixture
def answerer():
    return FakeAnswerer(slow_seconds=0.6)


@pytest.fixture
def bot(api, answerer, tmp_path):
    running = RunningBot(api, answerer, tmp_path / "feedback.sqlite")
    yield running
    running.close()


def all_text(call) -> str:
    """Everything a user would read in a posted message."""
    return call.args.get("text", "") + json.dumps(call.args.get("blocks", []))


def test_mention_gets_one_answer_in_its_thread_with_blocks(api, bot):
    payload = app_mention("how many vacation days do I get?")
    ts = payload["event"]["ts"]
    status, _, elapsed = send_event(bot.url, payload)
    assert status == 200 and elapsed < 3

    (posted,) = api.wait_for("chat.postMessage")
    assert posted.args["channel"] == "C0001"
    assert posted.args["thread_ts"] == ts
    blocks = posted.args["blocks"]
    assert blocks[0]["text"]["text"] == "*25 days*"
    excerpt = blocks[1]["text"]["text"]
    assert "*25 days*" in excerpt and "Leave &amp; holidays" in excerpt and "&lt;up to 5&gt;" in excerpt
    assert "Leave policy" in blocks[2]["elements"][0]["text"] and "87%" in blocks[2]["elements"][0]["text"]
    assert blocks[3]["type"] == "context_actions" and blocks[3]["elements"][0]["type"] == "feedback_buttons"
    # the question got a working reaction, taken off once answered
    (added,) = api.wait_for("reactions.add")
    (removed,) = api.wait_for("reactions.remove")
    assert added.args["timestamp"] == removed.args["timestamp"] == ts
    assert removed.at >= posted.at
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 1


def test_mention_inside_a_thread_answers_in_that_thread(api, bot):
    send_event(bot.url, app_mention("vacation days?", thread_ts="1699999999.999999"))
    (posted,) = api.wait_for("chat.postMessage")
    assert posted.args["thread_ts"] == "1699999999.999999"


def test_direct_message_is_answered_in_the_dm(api, bot, answerer):
    send_event(bot.url, message("how much vacation?", channel="D0042"))
    (posted,) = api.wait_for("chat.postMessage")
    assert posted.args["channel"] == "D0042"
    assert "25 days" in all_text(posted)
    assert answerer.asked == ["how much vacation?"]


def test_unanswerable_question_says_so_and_lists_closest_sources(api, bot):
    send_event(bot.url, app_mention("who founded the company?"))
    (posted,) = api.wait_for("chat.postMessage")
    text = all_text(posted)
    assert "couldn't find an answer" in text
    assert "Leave policy" in text and "<https://wiki.example.com/expenses|Expenses>" in text


def test_slash_command_acks_at_once_then_posts_the_answer(api, bot):
    status, body, elapsed = send_form(bot.url, _ask("vacation days per year", api))
    assert status == 200 and elapsed < 3
    assert "Looking up" in body
    (posted,) = api.wait_for("chat.postMessage")
    assert posted.args["channel"] == "C0001" and "thread_ts" not in posted.args
    assert f"<@{USER_ID}> asked" in all_text(posted) and "*25 days*" in all_text(posted)


def test_slash_command_where_the_bot_cannot_post_answers_through_response_url(api, bot):
    api.fail("chat.postMessage", "not_in_channel")
    send_form(bot.url, _ask("vacation days per year", api))
    (sent,) = api.wait_for("response_url")
    assert sent.args["response_type"] == "in_channel" and "25 days" in all_text(sent)


def test_slash_command_without_a_question_gets_a_hint_in_the_ack(api, bot, answerer):
    status, body, _ = send_form(bot.url, _ask("   ", api))
    assert status == 200 and "/ask" in body
    time.sleep(QUIET)
    assert answerer.asked == [] and not api.calls_to("chat.postMessage")


def test_retried_event_is_answered_once_even_while_the_first_is_in_progress(api, bot, answerer):
    payload = app_mention("slow question about vacation")
    first = send_event(bot.url, payload)
    retry = send_event(bot.url, payload, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first[0] == retry[0] == 200 and retry[2] < 3
    api.wait_for("chat.postMessage")
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 1
    assert len(answerer.asked) == 1


def test_mention_and_message_events_for_one_message_answer_once(api, bot):
    # In a thread the bot answered, a mention also arrives as message.channels.
    send_event(bot.url, app_mention("vacation?", ts="1699999998.000001"))
    api.wait_for("chat.postMessage")
    ts = next_ts()
    send_event(bot.url, app_mention("vacation again?", ts=ts, thread_ts="1699999998.000001"))
    send_event(
        bot.url,
        message(f"<@{BOT_USER_ID}> vacation again?", channel="C0001", channel_type="channel", ts=ts, thread_ts="1699999998.000001"),
    )
    api.wait_for("chat.postMessage", 2)
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 2


def test_forged_signature_is_rejected_and_nothing_is_posted(api, bot, answerer):
    status, _, _ = send_event(bot.url, app_mention("vacation?"), secret="not-the-signing-secret")
    assert status == 401
    time.sleep(QUIET)
    assert answerer.asked == [] and not api.calls_to("chat.postMessage")


def test_stale_timestamp_is_rejected(api, bot, answerer):
    body = json.dumps(app_mention("vacation?"))
    headers = signed_headers(body, SIGNING_SECRET, timestamp=int(time.time()) - 10 * 60)
    status, _, _ = post(bot.url, body, headers, "application/json")
    assert status == 401
    time.sleep(QUIET)
    assert answerer.asked == []


def test_bare_mention_gets_a_hint(api, bot, answerer):
    send_event(bot.url, app_mention(""))
    (posted,) = api.wait_for("chat.postMessage")
    assert "Ask me a question" in posted.args["text"] and f"<@{BOT_USER_ID}>" in posted.args["text"]
    assert answerer.asked == []


def test_overlong_question_is_refused_and_says_so(api, bot, answerer):
    send_event(bot.url, app_mention("vacation " * 80))
    (posted,) = api.wait_for("chat.postMessage")
    assert "only take questions up to 500" in posted.args["text"] and "didn't answer" in posted.args["text"]
    assert answerer.asked == []


def test_answerer_failure_gets_a_polite_reply_and_the_bot_keeps_answering(api, bot):
    send_event(bot.url, app_mention("make it explode"))
    (apology,) = api.wait_for("chat.postMessage")
    assert "Sorry" in apology.args["text"] and "reader crashed" not in apology.args["text"]
    api.wait_for("reactions.remove")
    send_event(bot.url, app_mention("vacation days?"))
    api.wait_for("chat.postMessage", where=lambda a: "25 days" in a.get("text", ""))


def test_slack_api_error_while_posting_gets_a_polite_reply(api, bot):
    api.fail("chat.postMessage", "msg_too_long")
    send_event(bot.url, app_mention("vacation days?"))
    posts = api.wait_for("chat.postMessage", 2)
    assert "Sorry" in posts[1].args["text"] and posts[1].args["thread_ts"] == posts[0].args["thread_ts"]


def test_workspace_without_native_feedback_buttons_gets_classic_buttons(api, bot):
    api.fail("chat.postMessage", "invalid_blocks")
    send_event(bot.url, app_mention("vacation days?"))
    first, second = api.wait_for("chat.postMessage", 2)
    assert first.args["blocks"][-1]["type"] == "context_actions"
    assert second.args["blocks"][-1]["type"] == "actions"
    assert [e["action_id"] for e in second.args["blocks"][-1]["elements"]] == ["spanqa_feedback_helpful", "spanqa_feedback_not_helpful"]
    assert "25 days" in second.args["text"]


def answer_id_of(posted) -> str:
    feedback = posted.args["blocks"][-1]
    return feedback["elements"][0]["positive_button"]["value"].partition(":")[2]


@pytest.mark.parametrize("native", [True, False])
def test_feedback_button_records_a_vote_and_thanks_the_user(api, bot, tmp_path, native):
    send_event(bot.url, app_mention("vacation days?"))
    (posted,) = api.wait_for("chat.postMessage")
    answer_id = answer_id_of(posted)

    status, _, _ = send_form(bot.url, feedback_click(answer_id, "helpful", api.response_url("action"), native=native))
    assert status == 200
    (thanks,) = api.wait_for("chat.postEphemeral")
    assert thanks.args["user"] == USER_ID and "Thanks" in thanks.args["text"]
    send_form(bot.url, feedback_click(answer_id, "not_helpful", api.response_url("action"), native=native))
    api.wait_for("views.open")

    with sqlite3.connect(tmp_path / "feedback.sqlite") as db:
        rows = db.execute(
            "SELECT a.question, a.answer, a.source_title, v.user, v.vote, v.created_at "
            "FROM votes v JOIN answers a ON a.id = v.answer_id"
        ).fetchall()
    assert len(rows) == 1
    assert rows[0][:5] == ("vacation days?", "25 days", "Leave policy", USER_ID, "not_helpful")
    assert rows[0][5]


def test_follow_up_question_in_an_answered_thread_is_answered(api, bot, answerer):
    root = "1699999997.000001"
    send_event(bot.url, app_mention("vacation days?", ts=root))
    api.wait_for("chat.postMessage")
    thread = dict(channel="C0001", channel_type="channel", thread_ts=root)
    send_event(bot.url, message("thanks!", **thread))
    send_event(bot.url, message("and how many vacation days carry over?", **thread))
    posts = api.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == root
    time.sleep(QUIET)
    assert answerer.asked == ["vacation days?", "and how many vacation days carry over?"]


def test_messages_in_threads_the_bot_did_not_answer_are_ignored(api, bot, answerer):
    send_event(bot.url, message("what about vacation?", channel="C0002", channel_type="channel", thread_ts="1.000"))
    send_event(bot.url, message("what about vacation?", channel="C0002", channel_type="channel"))
    time.sleep(QUIET)
    assert answerer.asked == [] and not api.calls_to("chat.postMessage")


@pytest.mark.parametrize(
    "fields",
    [
        {"user": BOT_USER_ID},  # its own message
        {"bot_id": "BOTHER01", "subtype": "bot_message"},  # another bot
        {"bot_id": BOT_ID},
        {"subtype": "message_changed"},  # an edit
        {"subtype": "channel_join"},
    ],
)
def test_own_bot_and_edited_messages_are_ignored(api, bot, answerer, fields):
    user = fields.pop("user", USER_ID)
    send_event(bot.url, message("what about vacation?", user=user, **fields))
    time.sleep(QUIET)
    assert answerer.asked == [] and not api.calls_to("chat.postMessage")


def _ask(text, api):
    return slash_command(text, api.response_url("cmd"))


def test_messages_that_are_not_questions_are_acknowledged_so_slack_does_not_retry(api, bot, answerer):
    """No listener answers them, and each still gets HTTP 200 (bolt would say 404)."""
    ignored = [
        message("thanks!", channel="C0002", channel_type="channel", thread_ts="1.000"),
        message("what about vacation?", channel="C0002", channel_type="channel"),
        message("what about vacation?", subtype="message_changed"),
        message("what about vacation?", bot_id="BOTHER01", subtype="bot_message"),
        app_mention("vacation?"),
    ]
    ignored[-1]["event"]["bot_id"] = BOT_ID  # a mention posted by a bot
    for payload in ignored:
        status, _, _ = send_event(bot.url, payload)
        assert status == 200, payload["event"]
    time.sleep(QUIET)
    assert answerer.asked == [] and not api.calls_to("chat.postMessage")
