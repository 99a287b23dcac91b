"""Slack's AI-app surface (bolt's Assistant) and posting under rate limits,
over signed HTTP against the mock Web API."""
import time

import pytest

from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import app_mention, assistant_thread_started, message, next_ts, send_event
from tests.bot.running import RunningBot

QUIET = 0.3


@pytest.fixture
def answerer():
    return FakeAnswerer()


@pytest.fixture
def bot(api, answerer, tmp_path):
    running = RunningBot(api, answerer, tmp_path / "feedback.sqlite", suggested_prompts=["How many vacation days do I get?"])
    yield running
    running.close()


def test_opening_the_assistant_thread_greets_with_suggested_prompts(api, bot, answerer):
    payload = assistant_thread_started(channel="D0100")
    thread_ts = payload["event"]["assistant_thread"]["thread_ts"]
    status, _, _ = send_event(bot.url, payload)
    assert status == 200
    (greeting,) = api.wait_for("chat.postMessage")
    assert greeting.args["channel"] == "D0100" and greeting.args["thread_ts"] == thread_ts
    assert "Ask me anything" in greeting.args["text"]
    (prompts,) = api.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.args["thread_ts"] == thread_ts
    sent = prompts.args["prompts"]
    sent = sent if isinstance(sent, list) else __import__("json").loads(sent)
    assert [p["message"] for p in sent] == ["How many vacation days do I get?"]
    assert answerer.asked == []


def test_question_in_the_assistant_thread_gets_a_title_a_status_and_the_answer(api, bot, answerer):
    thread_ts = next_ts()
    send_event(bot.url, message("how many vacation days do I get?", channel="D0100", thread_ts=thread_ts))
    (title,) = api.wait_for("assistant.threads.setTitle")
    assert title.args["title"] == "how many vacation days do I get?"
    (status,) = api.wait_for("assistant.threads.setStatus")
    assert status.args["status"] == "Searching the knowledge base…" and status.args["thread_ts"] == thread_ts
    (answer,) = api.wait_for("chat.postMessage")
    assert answer.args["channel"] == "D0100" and answer.args["thread_ts"] == thread_ts
    assert answer.args["text"].startswith("Answer: 25 days")
    assert status.at <= answer.at

    # a follow-up in the same thread: read with the first question, no new title
    send_event(bot.url, message("What about sick days?", channel="D0100", thread_ts=thread_ts))
    api.wait_for("chat.postMessage", 2)
    api.wait_for("assistant.threads.setStatus", 2)
    time.sleep(QUIET)
    assert len(api.calls_to("assistant.threads.setTitle")) == 1
    assert answerer.asked[-1] == "how many sick days do I get?"


def test_assistant_status_failing_does_not_stop_the_answer(api, bot):
    api.fail("assistant.threads.setStatus", "missing_scope")
    api.fail("assistant.threads.setTitle", "missing_scope")
    send_event(bot.url, message("vacation?", channel="D0100", thread_ts=next_ts()))
    (answer,) = api.wait_for("chat.postMessage")
    assert "25 days" in answer.args["text"]


def test_switching_channels_beside_the_panel_needs_no_calls(api, bot):
    payload = assistant_thread_started(channel="D0100")
    payload["event"]["type"] = "assistant_thread_context_changed"
    status, _, _ = send_event(bot.url, payload)
    assert status == 200
    time.sleep(QUIET)
    assert [c.method for c in api.calls if c.method != "auth.test"] == []


def test_mentions_and_plain_dms_still_work_alongside_the_assistant(api, bot):
    send_event(bot.url, app_mention("vacation days?"))
    send_event(bot.url, message("vacation days?", channel="D0200"))
    posts = api.wait_for("chat.postMessage", 2)
    assert {p.args["channel"] for p in posts} == {"C0001", "D0200"}
    assert not api.calls_to("assistant.threads.setStatus")


def test_rate_limited_answer_is_posted_after_retry_after(api, bot):
    api.rate_limit("chat.postMessage", retry_after=0)
    send_event(bot.url, app_mention("vacation days?"))
    limited, posted = api.wait_for("chat.postMessage", 2)
    assert api.rate_limited == 1
    assert limited.args["text"] == posted.args["text"] and posted.args["text"].startswith("Answer: 25 days")
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 2  # the answer, once; no apology


def test_manifest_declares_the_ai_app_surface_the_bot_handles():
    yaml = pytest.importorskip("yaml")
    from spacy_spanqa.bot.__main__ import MANIFEST  # shipped in the wheel, printed by `spanqa-bot manifest`

    manifest = yaml.safe_load(MANIFEST.read_text())
    assert manifest["features"]["assistant_view"]["suggested_prompts"]
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"assistant_thread_started", "assistant_thread_context_changed", "message.im", "app_mention"} <= set(events)
    assert manifest["settings"]["interactivity"]["is_enabled"]
