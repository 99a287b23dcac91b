"""The bot's command line, settings, runner choice, logging, storage and queue."""
import io
import json
import logging
import sys
import threading
import time
import types

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from typer.testing import CliRunner

from spacy_spanqa.bot import __main__ as bot_cli
from spacy_spanqa.bot.answer_queue import AnswerQueue
from spacy_spanqa.bot.store import BotStore, default_database_path
from spacy_spanqa.bot.redaction import TokenRedactingFilter, configure_logging
from spacy_spanqa.bot.server import HTTPRunner, SettingsError, SlackSettings, choose_runner
from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import BOT_TOKEN, SIGNING_SECRET

APP_TOKEN = "xapp-1-A0001-1234-abcdef"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    filters = {h: list(h.filters) for h in handlers}
    yield
    root.setLevel(level)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, old in filters.items():
        handler.filters[:] = old


# -- settings and the runner -------------------------------------------------


def test_missing_bot_token_is_one_clear_sentence_and_exit_code_2():
    result = CliRunner().invoke(bot_cli.cli, ["--index", "handbook.idx"], env={"SLACK_BOT_TOKEN": None})
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: SLACK_BOT_TOKEN is not set: export the Bot User OAuth Token (xoxb-...) "
        "from your app's OAuth & Permissions page at https://api.slack.com/apps."
    )
    assert "Traceback" not in result.output


def test_http_mode_without_signing_secret_names_the_variable():
    result = CliRunner().invoke(
        bot_cli.cli, ["--index", "x"], env={"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": None, "SLACK_SIGNING_SECRET": None}
    )
    assert result.exit_code == 2 and "SLACK_SIGNING_SECRET is not set" in result.output


def test_swapped_tokens_are_explained():
    with pytest.raises(SettingsError, match="put it in SLACK_APP_TOKEN"):
        SlackSettings.from_env({"SLACK_BOT_TOKEN": APP_TOKEN})
    with pytest.raises(SettingsError, match="must be an app-level token"):
        SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": BOT_TOKEN})


def test_slack_api_url_sets_the_web_clients_base_url():
    settings = SlackSettings.from_env(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api"}
    )
    assert settings.web_client().base_url == "http://127.0.0.1:9/api/"
    assert SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"}).api_url == "https://slack.com/api/"


def _app(api) -> App:
    return App(client=WebClient(token=BOT_TOKEN, base_url=api.url), signing_secret=SIGNING_SECRET)


def test_app_token_selects_socket_mode_without_connecting(api):
    settings = SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN})
    runner = choose_runner(_app(api), settings)
    try:
        assert isinstance(runner, SocketModeHandler) and runner.app_token == APP_TOKEN
        assert not api.calls_to("apps.connections.open")
    finally:
        runner.close()


def test_no_app_token_selects_http_on_the_given_port(api):
    settings = SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    runner = choose_runner(_app(api), settings, host="127.0.0.1", port=0)
    try:
        assert isinstance(runner, HTTPRunner) and runner.url.endswith("/slack/events")
    finally:
        runner.close()


def test_python_m_bot_wires_socket_mode_end_to_end(api, tmp_path, monkeypatch, restore_logging):
    """`python -m bot` with SLACK_APP_TOKEN: checks the token, loads the
    answerer, builds the app and starts a SocketModeHandler (start() stubbed)."""
    fake_qa = types.ModuleType("spacy_spanqa.qa")
    loaded = {}

    def question_answerer(index, model=None, top_k=5, runtime=None):
        loaded.update(index=index, model=model, top_k=top_k, runtime=runtime)
        return FakeAnswerer()

    fake_qa.QuestionAnswerer = question_answerer
    monkeypatch.setitem(sys.modules, "spacy_spanqa.qa", fake_qa)
    started = []
    monkeypatch.setattr(SocketModeHandler, "start", lambda self: started.append(self))
    index = tmp_path / "handbook.idx"
    index.mkdir()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": api.url, "SLACK_SIGNING_SECRET": None}

    result = CliRunner().invoke(bot_cli.cli, ["--index", str(index), "--top-k", "3", "--runtime", "int8"], env=env)
    assert result.exit_code == 0, result.output
    assert len(started) == 1 and started[0].app_token == APP_TOKEN
    assert loaded == {"index": str(index), "model": None, "top_k": 3, "runtime": "int8"}
    assert (tmp_path / "feedback.sqlite").exists()
    assert api.calls_to("auth.test") and not api.calls_to("apps.connections.open")


def test_a_milvus_server_url_is_passed_through_as_the_index(api, tmp_path, monkeypatch, restore_logging):
    fake_qa = types.ModuleType("spacy_spanqa.qa")
    loaded = {}

    def question_answerer(index, model=None, top_k=5, runtime=None, collection=None):
        loaded.update(index=index, collection=collection)
        return FakeAnswerer()

    fake_qa.QuestionAnswerer = question_answerer
    monkeypatch.setitem(sys.modules, "spacy_spanqa.qa", fake_qa)
    monkeypatch.setattr(SocketModeHandler, "start", lambda self: None)
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": api.url, "SLACK_SIGNING_SECRET": None}
    url = "http://127.0.0.1:19530"
    no_db = CliRunner().invoke(bot_cli.cli, ["--index", url], env=env)
    assert no_db.exit_code == 2 and "give --database" in no_db.output and not loaded
    db = str(tmp_path / "bot.sqlite")
    result = CliRunner().invoke(bot_cli.cli, ["--index", url, "--collection", "handbook", "--database", db], env=env)
    assert result.exit_code == 0, result.output
    assert loaded == {"index": url, "collection": "handbook"}


def test_rejected_bot_token_is_reported_without_a_traceback(api, tmp_path, restore_logging):
    api.fail("auth.test", "invalid_auth")
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": None, "SLACK_API_URL": api.url}
    result = CliRunner().invoke(bot_cli.cli, ["--index", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in result.output and "Traceback" not in result.output


def test_unreachable_database_stops_the_bot_with_one_sentence(api, tmp_path, restore_logging):
    from tests.bot.processes import free_port

    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": None, "SLACK_API_URL": api.url}
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/handbook?connect_timeout=2"
    result = CliRunner().invoke(bot_cli.cli, ["--index", str(tmp_path), "--database", url], env=env)
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: Cannot open the database postgresql+psycopg://bot:***@127.0.0.1:")
    assert "hunter2" not in result.output and "Traceback" not in result.output


# -- logging -------------------------------------------------------------------


def test_tokens_and_the_signing_secret_never_reach_the_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TokenRedactingFilter(secrets=[SIGNING_SECRET]))
    log = logging.getLogger("test_bot_cli.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("token %s and %s, secret %s", BOT_TOKEN, APP_TOKEN, SIGNING_SECRET)
        try:
            raise RuntimeError(f"auth failed for {BOT_TOKEN}")
        except RuntimeError:
            log.exception("call failed")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert BOT_TOKEN not in output and APP_TOKEN not in output and SIGNING_SECRET not in output
    assert "xoxb-[redacted]" in output and "xapp-[redacted]" in output and "RuntimeError" in output


def test_configure_logging_makes_existing_handlers_redact(restore_logging, caplog):
    configure_logging("INFO", secrets=["s3cret"])
    logging.getLogger("bot.test").warning("posting with %s / s3cret", BOT_TOKEN)
    assert BOT_TOKEN not in caplog.text and "s3cret" not in caplog.text


# -- feedback storage and report ----------------------------------------------------


def test_feedback_summary_counts_votes_and_lists_worst_answers(tmp_path):
    store = BotStore(tmp_path / "fb.sqlite")
    answerer = FakeAnswerer()
    good = store.record_answer(answerer.ask("vacation days?"), channel="C1", thread_ts="1.0", asked_by="U1")
    bad = store.record_answer(answerer.ask("who is the CEO?"), channel="C1", thread_ts="2.0", asked_by="U1")
    store.record_vote(good, "U1", "helpful")
    store.record_vote(bad, "U1", "helpful")
    store.record_vote(bad, "U1", "not_helpful")  # changed their mind: replaces the vote
    store.record_vote(bad, "U2", "not_helpful")
    assert store.answered_in_thread("C1", "2.0") and not store.answered_in_thread("C1", "3.0")
    store.close()

    result = CliRunner().invoke(bot_cli.cli, ["feedback", "--feedback-db", str(tmp_path / "fb.sqlite")])
    assert result.exit_code == 0, result.output
    assert "helpful:      1 (33%)" in result.output and "not helpful:  2 (67%)" in result.output
    assert "2 not helpful / 0 helpful  Q: who is the CEO?  A: (no answer)" in result.output

    as_json = CliRunner().invoke(bot_cli.cli, ["feedback", "--feedback-db", str(tmp_path / "fb.sqlite"), "--json"])
    summary = json.loads(as_json.output)
    assert summary["votes"] == {"helpful": 1, "not_helpful": 2}
    assert [row["question"] for row in summary["worst_rated"]] == ["who is the CEO?"]


def test_feedback_report_without_a_database_says_so(tmp_path):
    result = CliRunner().invoke(bot_cli.cli, ["feedback", "--feedback-db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 1 and "There is no feedback database" in result.output


def test_feedback_database_defaults_to_the_index_folder(tmp_path):
    assert default_database_path(tmp_path / "kb" / "handbook.idx") == tmp_path / "kb" / "feedback.sqlite"


# -- the answer queue and the dedupe cache -------------------------------------------


def test_queue_answers_a_burst_in_batches_and_isolates_a_failing_question():
    answerer = FakeAnswerer(slow_seconds=0.2)
    batches = []
    real_ask_many = answerer.ask_many

    def ask_many(questions):
        batches.append(list(questions))
        return real_ask_many(questions)

    answerer.ask_many = ask_many
    queue = AnswerQueue(answerer, max_batch=8)
    outcomes = {}
    done = threading.Event()

    def collect(question):
        def on_done(outcome):
            outcomes[question] = outcome
            if len(outcomes) == 6:
                done.set()
        return on_done

    questions = ["slow vacation?"] + [f"vacation {i}?" for i in range(4)] + ["explode"]
    assert queue.submit(questions[0], collect(questions[0]))
    while not answerer.asked:  # the worker is busy with the slow question...
        time.sleep(0.01)
    for q in questions[1:]:  # ...while these queue up
        assert queue.submit(q, collect(q))
    assert done.wait(5)
    queue.close()
    assert isinstance(outcomes["explode"], RuntimeError)
    assert all(outcomes[q].answer.text == "25 days" for q in questions[:-1])
    assert [len(b) for b in batches] == [5]  # the 5 queued behind the slow one went in one call


def test_queue_turns_questions_away_when_full():
    answerer = FakeAnswerer(slow_seconds=0.3)
    queue = AnswerQueue(answerer, max_pending=1)
    assert queue.submit("slow one", lambda outcome: None)
    while not answerer.asked:  # the worker took it: the queue is empty again
        time.sleep(0.01)
    assert queue.submit("second", lambda outcome: None)
    assert not queue.submit("third", lambda outcome: None)
    queue.close()
