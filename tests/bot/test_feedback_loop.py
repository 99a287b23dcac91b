"""Feedback that becomes training data: votes and corrections in Slack, then
`python -m bot feedback export --format squad`, read back by the project's SQuAD reader."""
import json
import sqlite3

import pytest
from typer.testing import CliRunner

from spacy_spanqa.bot import __main__ as bot_cli
from spacy_spanqa.bot.feedback import find_gold_span, squad_training_data
from spacy_spanqa.bot.store import BotStore, DatabaseError
from tests.bot.fakes import OFFICES, FakeAnswerer
from tests.bot.mock_slack import app_mention, feedback_click, send_event, send_form, view_submission
from tests.bot.running import RunningBot

squad = pytest.importorskip("spacy_spanqa.squad")


@pytest.fixture
def bot(api, tmp_path):
    running = RunningBot(api, FakeAnswerer(), tmp_path / "feedback.sqlite")
    yield running
    running.close()


def ask(api, bot, question):
    """Mention the bot with `question`; the id of the answer it posts."""
    n = len(api.calls_to("chat.postMessage"))
    send_event(bot.url, app_mention(question))
    api.wait_for("chat.postMessage", n + 1)
    return _last_answer_id(api)


def modal_metadata(api, count=1):
    """The private_metadata of the `count`-th correction modal opened."""
    view = api.wait_for("views.open", count)[-1].args["view"]
    return (view if isinstance(view, dict) else json.loads(view))["private_metadata"]


def submit(bot, metadata, **kw):
    return send_form(bot.url, view_submission(metadata, **kw))


def test_votes_and_corrections_export_as_squad_that_the_reader_loads(api, bot, tmp_path):
    # 1. helpful: the shown span is gold
    helpful = ask(api, bot, "how many vacation days?")
    send_form(bot.url, feedback_click(helpful, "helpful", api.response_url("a")))
    api.wait_for("chat.postEphemeral")

    # 2. not helpful, corrected with text from another retrieved passage
    lisbon = ask(api, bot, "When did the Lisbon office open?")
    send_form(bot.url, feedback_click(lisbon, "not_helpful", api.response_url("b")))
    status, body, _ = submit(bot, modal_metadata(api, 1), answer="  opened in 2021 ")
    assert status == 200 and "training example" in json.loads(body)["view"]["blocks"][0]["text"]["text"]

    # 3. not helpful on an answer from the wrong passage; the right text is in another one
    wrong = ask(api, bot, "how many vacation days when the office opened?")
    send_form(bot.url, feedback_click(wrong, "not_helpful", api.response_url("c")))
    submit(bot, modal_metadata(api, 2), answer="the toronto office opened in 2023")

    # 4. not helpful, "the documents don't answer this"
    none = ask(api, bot, "vacation days for interns?")
    send_form(bot.url, feedback_click(none, "not_helpful", api.response_url("d")))
    submit(bot, modal_metadata(api, 3), no_answer=True)

    # 5. not helpful, corrected with text that is in no passage: not training data
    elsewhere = ask(api, bot, "vacation days in 2030?")
    send_form(bot.url, feedback_click(elsewhere, "not_helpful", api.response_url("e")))
    status, body, _ = submit(bot, modal_metadata(api, 4), answer="30 days")
    assert "not in the passages I read" in json.loads(body)["view"]["blocks"][0]["text"]["text"]

    out = tmp_path / "feedback.squad.json"
    result = CliRunner().invoke(
        bot_cli.cli, ["feedback", "export", "--format", "squad", str(out), "--database", str(tmp_path / "feedback.sqlite")]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 3 answerable and 2 unanswerable questions" in result.output

    data = json.loads(out.read_text())
    assert data["version"] == "v2.0"
    paragraphs = squad.read_squad(out)
    gold = {q.question: q.answers for p in paragraphs for q in p.questions if not q.is_impossible}
    assert gold["how many vacation days?"] == [("25 days", LEAVE_START)]
    assert gold["When did the Lisbon office open?"] == [("opened in 2021", OFFICES.text.index("opened in 2021"))]
    assert gold["how many vacation days when the office opened?"] == [
        ("the Toronto office opened in 2023", OFFICES.text.index("the Toronto office opened in 2023"))
    ]
    impossible = {(q.question, p.context[:20]) for p in paragraphs for q in p.questions if q.is_impossible}
    assert impossible == {
        ("how many vacation days when the office opened?", "Leave & holidays: em"),  # the shown passage, confirmed wrong
        ("vacation days for interns?", "Leave & holidays: em"),
    }

    summary = CliRunner().invoke(bot_cli.cli, ["feedback", "--database", str(tmp_path / "feedback.sqlite")])
    assert "corrections:    4" in summary.output


LEAVE_START = FakeAnswerer().ask("vacation").answer.start_char


def _last_answer_id(api):
    posted = api.calls_to("chat.postMessage")[-1]
    return posted.args["blocks"][-1]["elements"][0]["positive_button"]["value"].partition(":")[2]


def test_correction_modal_needs_an_answer_or_the_no_answer_box(api, bot):
    answer_id = ask(api, bot, "how many vacation days?")
    send_form(bot.url, feedback_click(answer_id, "not_helpful", api.response_url("a")))
    status, body, _ = submit(bot, modal_metadata(api))
    assert status == 200 and json.loads(body)["response_action"] == "errors"


def test_without_a_modal_the_user_gets_an_ephemeral_prompt(api, bot):
    answer_id = ask(api, bot, "how many vacation days?")
    api.fail("views.open", "expired_trigger_id")
    send_form(bot.url, feedback_click(answer_id, "not_helpful", api.response_url("a")))
    (prompt,) = api.wait_for("chat.postEphemeral")
    assert "right answer" in prompt.args["text"]
    assert prompt.args["blocks"][-1]["elements"][0]["action_id"] == "spanqa_correct"


def test_gold_span_prefers_the_shown_passage_and_ignores_case_and_spacing():
    passages = [{"text": "Lisbon opened in 2021."}, {"text": "The Toronto office opened in  2023."}]
    assert find_gold_span("opened in 2021", passages, shown=0) == (0, 7, "opened in 2021")
    assert find_gold_span("toronto office OPENED in 2023", passages, shown=0) == (1, 4, "Toronto office opened in  2023")
    assert find_gold_span("2030", passages, shown=0) is None
    assert find_gold_span("   ", passages, shown=0) is None


def test_export_of_a_database_without_feedback_says_so(tmp_path):
    BotStore(tmp_path / "fb.sqlite").close()
    result = CliRunner().invoke(bot_cli.cli, ["feedback", "export", str(tmp_path / "o.json"), "--database", str(tmp_path / "fb.sqlite")])
    assert result.exit_code == 1 and "No votes or corrections to export yet" in result.output
    assert squad_training_data([]) == {"version": "v2.0", "data": []}


def test_database_from_the_first_release_gets_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE answers (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, question TEXT NOT NULL, answer TEXT,
              score REAL, source_title TEXT, source_path TEXT, source_url TEXT, channel TEXT, thread_ts TEXT, asked_by TEXT);
            CREATE TABLE votes (answer_id TEXT NOT NULL, user TEXT NOT NULL, vote TEXT NOT NULL, created_at TEXT NOT NULL,
              PRIMARY KEY (answer_id, user));
            INSERT INTO answers VALUES ('a1', '2025-01-01', 'q?', '25 days', 0.9, 'Leave', 'leave.md', NULL, 'C1', '1.0', 'U1');
            INSERT INTO votes VALUES ('a1', 'U1', 'helpful', '2025-01-01');
            """
        )
    store = BotStore(path)
    try:
        assert store.summary()["votes"] == {"helpful": 1, "not_helpful": 0}
        store.record_answer(FakeAnswerer().ask("vacation?"), channel="C1", thread_ts="2.0", asked_by="U1")
        assert store.answered_in_thread("C1", "2.0")
        assert squad_training_data(store.training_rows())["data"] == []  # the old answer has no passages to train on
    finally:
        store.close()


def test_unreachable_database_url_is_one_sentence(tmp_path):
    from tests.bot.processes import free_port

    with pytest.raises(DatabaseError) as error:
        BotStore(f"postgresql://spanqa@127.0.0.1:{free_port()}/postgres?connect_timeout=2")
    message = str(error.value)
    assert message.startswith("Cannot open the database postgresql+psycopg://spanqa@127.0.0.1:")
    assert message.endswith("check that it is running and reachable, or pass another --database.")
    assert "\n" not in message
