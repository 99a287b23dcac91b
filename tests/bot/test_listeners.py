"""The bolt matchers that say which Slack events are questions (bot/listeners.py)."""
import types

import pytest

from spacy_spanqa.bot.listeners import (
    from_a_person,
    in_direct_message,
    not_mentioning_the_bot,
    reads_as_a_question,
    reply_in_a_thread,
)
from tests.bot.mock_slack import BOT_USER_ID, USER_ID

CONTEXT = types.SimpleNamespace(bot_user_id=BOT_USER_ID)


@pytest.mark.parametrize(
    "fields, person",
    [
        ({}, True),
        ({"subtype": "thread_broadcast"}, True),
        ({"subtype": "file_share"}, True),
        ({"subtype": "message_changed"}, False),
        ({"subtype": "channel_join"}, False),
        ({"bot_id": "B1"}, False),
        ({"user": None}, False),
    ],
)
def test_only_a_persons_new_message_is_from_a_person(fields, person):
    assert from_a_person({"user": USER_ID, "text": "hi", **fields}) is person


def test_direct_messages_and_thread_replies_are_told_apart():
    assert in_direct_message({"channel_type": "im"}) and not in_direct_message({"channel_type": "channel"})
    assert reply_in_a_thread({"ts": "2.0", "thread_ts": "1.0"})
    assert not reply_in_a_thread({"ts": "1.0", "thread_ts": "1.0"})  # the thread's first message
    assert not reply_in_a_thread({"ts": "1.0"})


def test_a_mention_of_the_bot_is_left_to_the_app_mention_event():
    assert not not_mentioning_the_bot({"text": f"<@{BOT_USER_ID}> and sick days?"}, CONTEXT)
    assert not_mentioning_the_bot({"text": "<@U2> and sick days?"}, CONTEXT)


def test_thanks_is_not_a_question_and_a_follow_up_is():
    assert reads_as_a_question({"text": "and sick days?"}, CONTEXT)
    assert reads_as_a_question({"text": "How do I get a laptop"}, CONTEXT)
    assert not reads_as_a_question({"text": "thanks, that helps!"}, CONTEXT)
