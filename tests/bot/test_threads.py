"""Follow-up questions with their thread's context: how a follow-up is read
(bot/followups.py) and the bot answering thread cases end to end over HTTP."""
import json
import threading
import time

import pytest

from spacy_spanqa.bot.followups import needs_context, resolve
from spacy_spanqa.bot.thread_order import ThreadOrder
from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import app_mention, message, next_ts, send_event
from tests.bot.running import RunningBot

# (earlier question, follow-up, how the follow-up must be read)
READINGS = [
    # needs the context: elliptical
    ("When did the Lisbon office open?", "What about the Toronto one?", "When did the Toronto office open?"),
    ("When did the Lisbon office open?", "And Toronto?", "When did the Lisbon office open?".replace("Lisbon", "Toronto")),
    ("How many vacation days do new hires get?", "What about sick days?", "How many sick days do new hires get?"),
    ("When did the Toronto office open?", "How about Berlin?", "When did the Berlin office open?"),
    # needs the context: points back
    ("How many vacation days do new hires get?", "Do they carry over?", "vacation days new hires: Do they carry over?"),
    ("Where is the Berlin office?", "When is it open?", "When is the Berlin office open?"),
    ("Who is the head of the People team?", "How do I contact them?", "How do I contact the head of the People team?"),
    ("Who approves expenses?", "Who approves that?", "approves expenses: Who approves that?"),
    # stands on its own: must not take the context
    ("When did the Lisbon office open?", "What is the meal allowance?", "What is the meal allowance?"),
    ("What is the gift policy?", "What is the policy that covers open source?", "What is the policy that covers open source?"),
    ("How many vacation days do new hires get?", "And how many sick days does every employee have?",
     "And how many sick days does every employee have?"),
    ("Who is the head of the People team?", "Who is the data protection officer of Northwind Labs?",
     "Who is the data protection officer of Northwind Labs?"),
]


@pytest.mark.parametrize("previous, follow_up, expected", READINGS)
def test_follow_up_is_read_with_the_earlier_question_only_when_it_needs_it(previous, follow_up, expected):
    reading = resolve(follow_up, previous)
    assert reading.question == expected
    assert reading.used_context == (expected != follow_up)


def test_first_question_of_a_thread_is_read_as_it_is():
    assert resolve("What about the Toronto one?", None).question == "What about the Toronto one?"
    assert not needs_context("") and not needs_context("What is the meal allowance?")


def test_a_long_chain_of_follow_ups_keeps_the_question_short():
    previous = "When did the Lisbon office open?"
    for city in ["Toronto", "Berlin", "Paris", "Madrid", "Rome"] * 20:
        previous = resolve(f"What about {city}?", previous, max_chars=120).question
        assert len(previous) <= 120
    assert previous == "When did the Rome office open?"
    pointing = "How many vacation days do new hires get? " * 20
    assert len(resolve("Do they carry over?", pointing, max_chars=100).question) <= 100


# -- thread cases end to end -------------------------------------------------------


@pytest.fixture
def answerer():
    return FakeAnswerer()


@pytest.fixture
def bot(api, answerer, tmp_path):
    running = RunningBot(api, answerer, tmp_path / "feedback.sqlite")
    yield running
    running.close()


def thread_replies(api, channel, thread_ts, count):
    return api.wait_for("chat.postMessage", count, where=lambda a: a.get("channel") == channel and a.get("thread_ts") == thread_ts)


THREAD_CASES = [
    # (name, first question, follow-up, the follow-up's answer or None for "couldn't find")
    ("needs-context", "When did the Lisbon office open?", "What about the Toronto one?", "2023"),
    ("must-not-take-context", "When did the Lisbon office open?", "What is the meal allowance?", "40 euros"),
]


@pytest.mark.parametrize("name, first, follow_up, expected", THREAD_CASES, ids=[c[0] for c in THREAD_CASES])
def test_thread_follow_up_gets_the_right_answer(api, bot, answerer, name, first, follow_up, expected):
    root = next_ts()
    send_event(bot.url, app_mention(first, ts=root))
    thread_replies(api, "C0001", root, 1)
    send_event(bot.url, message(follow_up, channel="C0001", channel_type="channel", thread_ts=root))
    first_reply, reply = thread_replies(api, "C0001", root, 2)
    assert reply.args["text"].startswith(f"Answer: {expected} ")  # the notification text carries the answer
    read_as = "Read with the earlier question" in json.dumps(reply.args["blocks"])
    assert read_as == (name == "needs-context")


def test_direct_message_follow_up_takes_the_previous_question_as_context(api, bot, answerer):
    send_event(bot.url, message("When did the Lisbon office open?", channel="D0042"))
    api.wait_for("chat.postMessage")
    send_event(bot.url, message("And Toronto?", channel="D0042"))
    first, second = api.wait_for("chat.postMessage", 2)
    assert "thread_ts" not in second.args or second.args["thread_ts"] is None
    assert second.args["text"].startswith("Answer: 2023 ")
    assert answerer.asked == ["When did the Lisbon office open?", "When did the Toronto office open?"]


def test_context_survives_a_restart(api, answerer, tmp_path):
    root = next_ts()
    before = RunningBot(api, answerer, tmp_path / "feedback.sqlite")
    try:
        send_event(before.url, app_mention("When did the Lisbon office open?", ts=root))
        thread_replies(api, "C0001", root, 1)
    finally:
        before.close()
    after = RunningBot(api, answerer, tmp_path / "feedback.sqlite")
    try:
        send_event(after.url, message("What about the Toronto one?", channel="C0001", channel_type="channel", thread_ts=root))
        _, reply = thread_replies(api, "C0001", root, 2)
    finally:
        after.close()
    assert reply.args["text"].startswith("Answer: 2023 ")


def test_threads_do_not_share_context(api, bot, answerer):
    one, two = next_ts(), next_ts()
    send_event(bot.url, app_mention("When did the Lisbon office open?", ts=one))
    thread_replies(api, "C0001", one, 1)
    send_event(bot.url, app_mention("What about the Toronto one?", ts=two))
    (reply,) = thread_replies(api, "C0001", two, 1)
    assert "couldn't find an answer" in reply.args["text"]
    assert answerer.asked[-1] == "What about the Toronto one?"


def test_follow_up_sent_before_the_first_answer_arrives_is_answered(api, tmp_path):
    slow = FakeAnswerer(slow_seconds=0.5)
    running = RunningBot(api, slow, tmp_path / "feedback.sqlite")
    root = next_ts()
    claim = running.store.claim

    def late_for_the_mention(key):  # its listener runs after the follow-up's has started
        if key.endswith(f":{root}"):
            time.sleep(0.3)
        return claim(key)

    running.store.claim = late_for_the_mention
    try:
        send_event(running.url, app_mention("slow: how many vacation days do new hires get?", ts=root))
        send_event(running.url, message("What about sick days?", channel="C0001", channel_type="channel", thread_ts=root))
        thread_replies(api, "C0001", root, 2)
    finally:
        running.close()
    assert slow.asked == ["slow: how many vacation days do new hires get?", "slow: how many sick days do new hires get?"]


def test_a_question_waits_only_for_the_mentions_posted_before_it_in_its_thread():
    order = ThreadOrder(wait_seconds=5)
    order.note("C1", "100.000001", "100.000001")
    waited = []
    later = threading.Thread(target=lambda: waited.append(order.wait_for_earlier("C1", "100.000001", "100.000002")))
    later.start()
    later.join(0.2)
    assert later.is_alive()  # held until the mention is taken
    assert order.wait_for_earlier("C1", "100.000001", "100.000001")  # the mention itself: nothing earlier
    assert order.wait_for_earlier("C2", "100.000001", "100.000002")  # another channel's thread
    order.taken("C1", "100.000001", "100.000001")
    later.join(2)
    assert waited == [True]


def test_a_mention_never_taken_holds_its_thread_only_for_the_wait():
    order = ThreadOrder(wait_seconds=0.2)
    order.note("C1", "100.000001", "100.000001")
    started = time.monotonic()
    assert order.wait_for_earlier("C1", "100.000001", "100.000002") is False
    assert 0.15 < time.monotonic() - started < 2
    assert order.wait_for_earlier("C1", "100.000001", "100.000003")  # stale now: no longer waited for
