"""Several replicas of the bot, each question answered once: two bot processes
share one database (a real PostgreSQL server in a temporary directory, or a
SQLite file), and Slack's event and its retry reach different replicas."""
import threading
import time

import pytest

from spacy_spanqa.bot.store import BotStore
from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import BOT_USER_ID, app_mention, message, next_ts, send_event
from tests.bot.processes import PostgresServer, PostgresUnavailable, ReplicaProcess
from tests.bot.running import RunningBot

QUIET = 0.5


@pytest.fixture(scope="module")
def postgres():
    try:
        server = PostgresServer()
    except PostgresUnavailable as reason:
        pytest.skip(f"no PostgreSQL server for the replica test: {reason}")
    yield server
    server.close()


@pytest.fixture
def replicas(api, postgres):
    # Each test gets fresh tables: drop what an earlier test left.
    store = BotStore(postgres.url)
    with store.engine.begin() as conn:
        from spacy_spanqa.bot.store import metadata

        metadata.drop_all(conn)
    store.close()
    started = [ReplicaProcess(api.url, postgres.url, slow_seconds=0.5) for _ in range(2)]
    try:
        for replica in started:
            replica.wait_until_listening()
        yield started
    finally:
        logs = [replica.close() for replica in started]
        for log in logs:
            assert "Traceback" not in log, log


def deliver_together(*deliveries):
    """Send each (url, payload, headers) at the same moment, from threads."""
    results = [None] * len(deliveries)
    barrier = threading.Barrier(len(deliveries))

    def send(i, url, payload, headers):
        barrier.wait()
        results[i] = send_event(url, payload, **headers)

    threads = [threading.Thread(target=send, args=(i, *d)) for i, d in enumerate(deliveries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def test_event_and_its_retry_at_two_replicas_on_postgres_are_answered_once(api, replicas):
    one, two = replicas
    payload = app_mention("slow question about vacation")
    results = deliver_together((one.url, payload, {}), (two.url, payload, RETRY))
    assert [status for status, _, _ in results] == [200, 200]
    (posted,) = api.wait_for("chat.postMessage", timeout=15)
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 1
    assert posted.args["text"].startswith("Answer: 25 days")

    # a retry that arrives after the answer was posted is not answered again
    send_event(two.url, payload, **{**RETRY, "X-Slack-Retry-Num": "2"})
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 1


def test_mention_and_message_event_of_one_message_at_two_replicas_answer_once(api, replicas):
    one, two = replicas
    root = next_ts()
    send_event(one.url, app_mention("vacation?", ts=root))
    api.wait_for("chat.postMessage", timeout=15)
    ts = next_ts()
    mention = app_mention("vacation again?", ts=ts, thread_ts=root)
    as_message = message(f"<@{BOT_USER_ID}> vacation again?", channel="C0001", channel_type="channel", ts=ts, thread_ts=root)
    deliver_together((one.url, mention, {}), (two.url, as_message, {}))
    api.wait_for("chat.postMessage", 2, timeout=15)
    time.sleep(QUIET)
    assert len(api.calls_to("chat.postMessage")) == 2


def test_follow_up_at_the_other_replica_has_the_threads_context(api, replicas):
    one, two = replicas
    root = next_ts()
    send_event(one.url, app_mention("When did the Lisbon office open?", ts=root))
    api.wait_for("chat.postMessage", timeout=15)
    send_event(two.url, message("What about the Toronto one?", channel="C0001", channel_type="channel", thread_ts=root))
    _, reply = api.wait_for("chat.postMessage", 2, timeout=15)
    assert reply.args["text"].startswith("Answer: 2023 ")


def test_two_replicas_sharing_a_sqlite_file_answer_a_retry_once(api, tmp_path):
    answerers = [FakeAnswerer(slow_seconds=0.3), FakeAnswerer(slow_seconds=0.3)]
    bots = [RunningBot(api, a, tmp_path / "shared.sqlite") for a in answerers]
    try:
        payload = app_mention("slow vacation question")
        deliver_together((bots[0].url, payload, {}), (bots[1].url, payload, RETRY))
        api.wait_for("chat.postMessage")
        time.sleep(QUIET)
        assert len(api.calls_to("chat.postMessage")) == 1
        assert sum(len(a.asked) for a in answerers) == 1
    finally:
        for bot in bots:
            bot.close()
