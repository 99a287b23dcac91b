"""Starting the bot without the command line: `check_options` and `build_bot`
(spacy_spanqa/bot/launch.py) return values or raise LaunchError."""
import signal
import socket
import sys
import threading
import types

import pytest

from spacy_spanqa.bot.launch import BotOptions, LaunchError, build_bot, check_options, load_answerer, secrets_in
from spacy_spanqa.bot.server import HTTPRunner, SlackSettings
from spacy_spanqa.bot.store import BotStore
from tests.bot.fakes import FakeAnswerer
from tests.bot.mock_slack import BOT_TOKEN, SIGNING_SECRET, app_mention, send_event

HTTP_ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}


@pytest.fixture
def index(tmp_path):
    folder = tmp_path / "kb" / "handbook.idx"
    folder.mkdir(parents=True)
    return folder


def test_check_options_returns_the_slack_settings_when_everything_makes_sense(index):
    settings = check_options(BotOptions(index=str(index)), env=HTTP_ENV)
    assert settings.bot_token == BOT_TOKEN and settings.signing_secret == SIGNING_SECRET and not settings.socket_mode


@pytest.mark.parametrize(
    "env, options, says",
    [
        ({}, {}, "SLACK_BOT_TOKEN is not set"),
        (HTTP_ENV, {"log_level": "LOUD"}, "Unknown --log-level 'LOUD'"),
        (HTTP_ENV, {"runtime": "tpu"}, "Unknown runtime 'tpu'; use one of: torch, onnx, int8."),
        (HTTP_ENV, {"index": None}, "--index is required"),
        (HTTP_ENV, {"index": "missing.idx"}, "There is no index at missing.idx"),
        (HTTP_ENV, {"index": "missing.db"}, "There is no index at missing.db"),
        (HTTP_ENV, {"index": "http://127.0.0.1:19530"}, "give --database"),
        (HTTP_ENV, {"index": "https://milvus.example.com"}, "give --database"),
        (HTTP_ENV, {"index": "tcp://127.0.0.1:19530"}, "give --database"),
    ],
)
def test_check_options_raises_one_sentence_with_exit_code_2(index, env, options, says):
    with pytest.raises(LaunchError) as error:
        check_options(BotOptions(**{"index": str(index), **options}), env=env)
    assert says in str(error.value) and error.value.exit_code == 2
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:19530", "tcp://milvus:19530"])
def test_a_milvus_server_url_needs_no_folder_once_a_database_is_given(url, tmp_path):
    options = BotOptions(index=url, database=str(tmp_path / "bot.sqlite"))
    assert check_options(options, env=HTTP_ENV).bot_token == BOT_TOKEN
    assert options.database_location == str(tmp_path / "bot.sqlite")


def test_the_database_defaults_to_feedback_sqlite_next_to_the_index(index):
    assert BotOptions(index=str(index)).database_location == index.parent / "feedback.sqlite"


def test_secrets_in_are_the_signing_secret_and_the_database_password():
    settings = SlackSettings.from_env(HTTP_ENV)
    options = BotOptions(index="x", database="postgresql://bot:hunter2@db.example/handbook")
    assert secrets_in(settings, options) == [SIGNING_SECRET, "hunter2"]
    assert secrets_in(settings, BotOptions(index="x", database="bot.sqlite")) == [SIGNING_SECRET]


def _settings(api, **env):
    return SlackSettings.from_env({**HTTP_ENV, "SLACK_API_URL": api.url, **env})


def test_build_bot_signs_in_opens_the_database_and_serves_the_options(api, index):
    options = BotOptions(index=str(index), host="127.0.0.1", port=0, max_question_chars=40)
    bot = build_bot(options, _settings(api), answerer=FakeAnswerer())
    serving = threading.Thread(target=bot.runner.start, daemon=True)
    serving.start()
    try:
        assert isinstance(bot.runner, HTTPRunner) and not bot.socket_mode
        assert api.calls_to("auth.test")
        assert bot.store.path == index.parent / "feedback.sqlite" and bot.store.path.exists()
        send_event(bot.runner.url, app_mention("how many vacation days do I get?"))
        send_event(bot.runner.url, app_mention("how many vacation days do I get as a new hire in Lisbon?"))
        posts = api.wait_for("chat.postMessage", 2)
        texts = sorted(p.args["text"] for p in posts)
        assert texts[0].startswith("Answer: 25 days")
        assert "only take questions up to 40" in texts[1]  # max_question_chars reached the app
    finally:
        bot.close()


def test_build_bot_with_an_app_token_builds_socket_mode_without_connecting(api, index):
    bot = build_bot(BotOptions(index=str(index)), _settings(api, SLACK_APP_TOKEN="xapp-1-A1-2-abc"), answerer=FakeAnswerer())
    try:
        assert bot.socket_mode and bot.runner.app_token == "xapp-1-A1-2-abc"
        assert not api.calls_to("apps.connections.open")
    finally:
        bot.close()


def test_build_bot_with_a_rejected_token_opens_no_database(api, index):
    api.fail("auth.test", "invalid_auth")
    with pytest.raises(LaunchError) as error:
        build_bot(BotOptions(index=str(index)), _settings(api), answerer=FakeAnswerer())
    assert error.value.exit_code == 1 and "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in str(error.value)
    assert not (index.parent / "feedback.sqlite").exists()


def test_build_bot_without_slack_says_where_it_looked(index):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/api/"
    settings = SlackSettings.from_env({**HTTP_ENV, "SLACK_API_URL": url})
    with pytest.raises(LaunchError) as error:
        build_bot(BotOptions(index=str(index)), settings, answerer=FakeAnswerer())
    assert error.value.exit_code == 1 and f"Could not reach the Slack API at {url}" in str(error.value)


def test_build_bot_on_a_port_in_use_fails_with_one_sentence(api, index):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LaunchError) as error:
            build_bot(BotOptions(index=str(index), host="127.0.0.1", port=port), _settings(api), answerer=FakeAnswerer())
    assert error.value.exit_code == 1 and str(error.value).startswith(f"Cannot listen on 127.0.0.1:{port}:")


@pytest.fixture
def fake_question_answerer(monkeypatch):
    """spacy_spanqa.qa with a QuestionAnswerer that records its arguments (no torch)."""
    calls = []
    failure = {}

    def question_answerer(index, **kwargs):
        calls.append({"index": index, **kwargs})
        if "error" in failure:
            raise failure["error"]
        return FakeAnswerer()

    module = types.ModuleType("spacy_spanqa.qa")
    module.QuestionAnswerer = question_answerer
    monkeypatch.setitem(sys.modules, "spacy_spanqa.qa", module)
    return calls, failure


def test_load_answerer_names_the_collection_only_for_milvus(fake_question_answerer):
    calls, _ = fake_question_answerer
    load_answerer(BotOptions(index="handbook.idx", model="reader", top_k=3, runtime="int8", collection="hr"))
    load_answerer(BotOptions(index="kb.db", collection="hr"))
    load_answerer(BotOptions(index="tcp://milvus:19530", collection="hr"))
    assert calls[0] == {"index": "handbook.idx", "model": "reader", "top_k": 3, "runtime": "int8"}
    assert [c.get("collection") for c in calls] == [None, "hr", "hr"]


@pytest.mark.parametrize(
    "raised, code, says",
    [
        (ValueError("Unknown model 'nope': give a pipeline directory."), 2, "Unknown model 'nope'"),
        (OSError("disk on fire"), 1, "Could not load the index or model: disk on fire."),
    ],
)
def test_load_answerer_failures_are_launch_errors(fake_question_answerer, raised, code, says):
    _, failure = fake_question_answerer
    failure["error"] = raised
    with pytest.raises(LaunchError) as error:
        load_answerer(BotOptions(index="handbook.idx"))
    assert error.value.exit_code == code and says in str(error.value)


def test_build_bot_closes_the_database_when_the_answerer_cannot_load(api, index, fake_question_answerer, monkeypatch):
    _, failure = fake_question_answerer
    failure["error"] = OSError("no such model")
    closed = []
    real_close = BotStore.close
    monkeypatch.setattr(BotStore, "close", lambda store: (closed.append(store.path), real_close(store)))
    with pytest.raises(LaunchError, match="Could not load the index or model"):
        build_bot(BotOptions(index=str(index)), _settings(api))
    assert closed == [index.parent / "feedback.sqlite"]


def test_run_closes_the_runner_and_the_database_on_ctrl_c(api, index):
    bot = build_bot(BotOptions(index=str(index), host="127.0.0.1", port=0), _settings(api), answerer=FakeAnswerer())
    closed = []

    def interrupted():
        raise KeyboardInterrupt

    bot.runner.start = interrupted
    real_close = bot.runner.close
    bot.runner.close = lambda: (closed.append("runner"), real_close())
    bot.store.close = lambda: closed.append("store")
    previous = signal.getsignal(signal.SIGTERM)
    try:
        bot.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert closed == ["runner", "store"]
