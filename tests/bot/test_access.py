"""The access file (bot/access.py) and what it drives at start (bot/launch.py),
the merge of several knowledge bases' results (bot/knowledge.py), and the
feedback report and export filtered by knowledge base."""
import json
import sys
import types

import pytest
from typer.testing import CliRunner

from spacy_spanqa.bot import __main__ as bot_cli
from spacy_spanqa.bot.access import AccessFileError, read_access_file
from spacy_spanqa.bot.audience import resolve_names
from spacy_spanqa.bot.knowledge import KnowledgeBases, merge_results
from spacy_spanqa.bot.launch import BotOptions, LaunchError, build_bot, check_options
from spacy_spanqa.bot.server import SlackSettings
from spacy_spanqa.bot.store import BotStore
from spacy_spanqa.results import Answer, QAResult, RetrievedPassage
from tests.bot.fakes import EXPENSES, HR_KNOWLEDGE, LEAVE, SALARY, FakeAnswerer
from tests.bot.mock_slack import BOT_TOKEN, SIGNING_SECRET, app_mention, send_event

HTTP_ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}

TOML = """\
# who may read what
allow_guests = false
allow_external = true
cache_seconds = 120

[[knowledge_bases]]
name = "handbook"
index = "handbook.idx"
audience = "everyone"

[[knowledge_bases]]
name = "hr"
index = "hr.idx"
channels = ["#hr", "G0HR00001"]
usergroups = ["@people-team"]

[[knowledge_bases]]
name = "incidents"
index = "http://milvus.internal:19530"
collection = "incidents"
usergroups = ["S0SRE0001"]
"""

YAML = """\
allow_guests: true
knowledge_bases:
  - name: handbook
    index: handbook.idx
    audience: everyone
  - name: hr
    index: hr.idx
    channels: ["#hr"]
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "handbook.idx").mkdir()
    (tmp_path / "hr.idx").mkdir()
    return tmp_path


def write(folder, text, name="access.toml"):
    path = folder / name
    path.write_text(text, encoding="utf8")
    return path


def test_a_toml_access_file_declares_knowledge_bases_and_audiences(folder):
    policy = read_access_file(write(folder, TOML))
    assert policy.names == ("handbook", "hr", "incidents")
    handbook, hr, incidents = policy.knowledge_bases
    assert handbook.audience.everyone and handbook.index == str(folder.resolve() / "handbook.idx")
    assert hr.audience.channels == ("#hr", "G0HR00001") and hr.audience.usergroups == ("@people-team",)
    assert incidents.index == "http://milvus.internal:19530" and incidents.collection == "incidents"
    assert (policy.allow_guests, policy.allow_external, policy.cache_seconds) == (False, True, 120.0)
    assert (handbook.line, hr.line, incidents.line) == (6, 11, 17)
    assert policy.with_opt_ins(allow_guests=True).allow_guests and policy.with_opt_ins().allow_external


def test_a_yaml_access_file_says_the_same(folder):
    policy = read_access_file(write(folder, YAML, "access.yaml"))
    assert policy.names == ("handbook", "hr") and policy.allow_guests and not policy.allow_external
    assert policy.knowledge_bases[1].audience.channels == ("#hr",) and policy.knowledge_bases[1].line == 6


MALFORMED_TOML = [
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\nchanels = ["#hr"]\n', 4, "unknown key 'chanels'"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\n', 1, "has no audience"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "missing.idx"\naudience = "everyone"\n', 3, "there is no index at"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\naudience = "members"\n', 4, 'must be "everyone"'),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\nchannels = ["hr"]\n', 4, "'hr' in channels of 'hr' is not a channel"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\nusergroups = []\n', 4, "usergroups of 'hr' is empty"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\naudience = "everyone"\nchannels = ["#hr"]\n', 4, "keep one"),
    ('allow_guests = "yes"\n', 1, "allow_guests must be true or false"),
    ('\n\nallow_everyone = true\n', 3, "unknown setting 'allow_everyone'"),
    ('[[knowledge_bases]]\nname = "a b"\nindex = "hr.idx"\naudience = "everyone"\n', 2, "needs a name"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\naudience = "everyone"\n\n'
     '[[knowledge_bases]]\nname = "hr"\nindex = "handbook.idx"\naudience = "everyone"\n', 7, "used twice"),
    ('[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx\n', 3, "not valid TOML"),
]


@pytest.mark.parametrize("text, line, says", MALFORMED_TOML)
def test_a_malformed_access_file_is_one_sentence_naming_the_file_and_line(folder, text, line, says):
    with pytest.raises(AccessFileError) as error:
        read_access_file(write(folder, text))
    message = str(error.value)
    assert message.startswith(f"access.toml, line {line}: ") and says in message, message
    assert "\n" not in message and message.endswith(".")


def test_a_malformed_yaml_access_file_names_its_line(folder):
    bad = "knowledge_bases:\n  - name: hr\n    index: hr.idx\n    audience: everyone\n    usergroups: {a: 1}\n"
    with pytest.raises(AccessFileError, match=r"^access.yaml, line 5: usergroups of 'hr' must be a list"):
        read_access_file(write(folder, bad, "access.yaml"))
    with pytest.raises(AccessFileError, match=r"^access.yaml, line 3: this is not valid YAML"):
        read_access_file(write(folder, "knowledge_bases:\n  - name: [hr\n    index: x\n", "access.yaml"))


def test_a_missing_access_file_says_where_it_looked(tmp_path):
    with pytest.raises(AccessFileError, match="There is no access file at"):
        read_access_file(tmp_path / "nope.toml")


def test_a_malformed_access_file_stops_spanqa_bot_at_start_with_one_sentence(folder):
    path = write(folder, '[[knowledge_bases]]\nname = "hr"\nindex = "hr.idx"\nchanels = ["#hr"]\n')
    result = CliRunner().invoke(bot_cli.cli, ["--access", str(path)], env={**HTTP_ENV, "SPANQA_INDEX": None})
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: access.toml, line 4: unknown key 'chanels'")


def test_check_options_takes_the_indexes_from_the_access_file(folder):
    path = write(folder, TOML)
    assert check_options(BotOptions(index=None, access=str(path)), env=HTTP_ENV).bot_token == BOT_TOKEN
    assert BotOptions(index=None, access=str(path)).database_location == folder.resolve() / "feedback.sqlite"
    with pytest.raises(LaunchError, match="drop --index"):
        check_options(BotOptions(index=str(folder / "hr.idx"), access=str(path)), env=HTTP_ENV)


def test_an_access_file_with_only_opt_ins_keeps_the_single_index(folder):
    path = write(folder, "allow_guests = true\n")
    from spacy_spanqa.bot.launch import access_policy

    policy = access_policy(BotOptions(index=str(folder / "hr.idx"), access=str(path)))
    assert policy.names == ("default",) and policy.allow_guests and policy.knowledge_bases[0].audience.everyone


def test_channel_names_and_user_group_handles_are_resolved_at_start(folder, api):
    from slack_sdk import WebClient

    api.channels["G0HR00002"] = {"id": "G0HR00002", "name": "hr", "is_private": True}
    api.usergroups["S0PEOPLE1"] = {"handle": "people-team", "users": []}
    client = WebClient(token=BOT_TOKEN, base_url=api.url)
    policy = resolve_names(read_access_file(write(folder, TOML)), client)
    assert policy.knowledge_bases[1].audience.channels == ("G0HR00002", "G0HR00001")
    assert policy.knowledge_bases[1].audience.usergroups == ("S0PEOPLE1",)
    del api.channels["G0HR00002"]
    with pytest.raises(AccessFileError, match=r"^access.toml, line 11: Slack has no channel #hr that the bot can see"):
        resolve_names(read_access_file(write(folder, TOML)), client)


def test_build_bot_serves_each_knowledge_base_to_its_audience(folder, api):
    path = write(folder, YAML.replace("#hr", "G0HR00001"), "access.yaml")
    api.channels["G0HR00001"] = {"id": "G0HR00001", "name": "hr", "members": ["UHR000001"]}
    settings = SlackSettings.from_env({**HTTP_ENV, "SLACK_API_URL": api.url})
    hr = FakeAnswerer(knowledge=HR_KNOWLEDGE, unknown=[SALARY])
    options = BotOptions(index=None, access=str(path), host="127.0.0.1", port=0)
    bot = build_bot(options, settings, answerer={"handbook": FakeAnswerer(), "hr": hr})
    import threading

    threading.Thread(target=bot.runner.start, daemon=True).start()
    try:
        send_event(bot.runner.url, app_mention("what are the salary bands?", channel="C0GENERAL"))
        send_event(bot.runner.url, app_mention("what are the salary bands?", channel="G0HR00001", user="UHR000001"))
        posts = api.wait_for("chat.postMessage", 2)
        by_channel = {p.args["channel"]: p.args["text"] for p in posts}
        assert "couldn't find" in by_channel["C0GENERAL"] and by_channel["G0HR00001"].startswith("Answer: 70,000")
        assert hr.asked == ["what are the salary bands?"]
    finally:
        bot.close()


def test_several_knowledge_bases_load_one_reader_and_share_it(folder, monkeypatch):
    loads, built = [], []
    fake_qa = types.ModuleType("spacy_spanqa.qa")
    fake_qa.load_reader = lambda model, runtime: loads.append((model, runtime)) or "the nlp"
    fake_qa.QuestionAnswerer = lambda index, **kw: built.append((index, kw)) or FakeAnswerer()
    monkeypatch.setitem(sys.modules, "spacy_spanqa.qa", fake_qa)
    from spacy_spanqa.bot.launch import load_knowledge_bases

    policy = read_access_file(write(folder, TOML))
    answerers = load_knowledge_bases(policy, BotOptions(index=None, access="x", model="reader", runtime="int8", top_k=3))
    assert list(answerers) == ["handbook", "hr", "incidents"] and loads == [("reader", "int8")]
    assert [kw["model"] for _, kw in built] == ["the nlp"] * 3
    assert built[2] == ("http://milvus.internal:19530", {"model": "the nlp", "top_k": 3, "collection": "incidents"})
    assert "collection" not in built[0][1]


# -- one answer from several knowledge bases ---------------------------------------


def _answer(question, passage, text, score):
    start = passage.text.index(text)
    return Answer(question, text, score, start, start + len(text), passage=passage)


def test_the_best_scoring_answer_across_knowledge_bases_wins_and_the_rest_are_candidates():
    q = "how much?"
    handbook = QAResult(q, _answer(q, EXPENSES, "100 EUR", 0.55), [], [RetrievedPassage(EXPENSES, 3.0), RetrievedPassage(LEAVE, 1.0)])
    hr = QAResult(q, _answer(q, SALARY, "70,000 to 85,000 EUR", 0.81), [_answer(q, SALARY, "85,000 to 100,000 EUR", 0.4)],
                  [RetrievedPassage(SALARY, 5.0)])
    merged = merge_results(q, [("handbook", handbook), ("hr", hr)], searched=("handbook", "hr"))
    assert merged.answer.text == "70,000 to 85,000 EUR" and merged.answered_from == "hr"
    assert [c.text for c in merged.candidates] == ["100 EUR", "85,000 to 100,000 EUR"]
    assert [p.passage.id for p in merged.passages] == ["salary.md#0", "expenses.md#0", "leave.md#0"]
    assert merged.passage_sources == ["hr", "handbook", "handbook"] and merged.searched == ("handbook", "hr")
    assert merged.source_of(EXPENSES) == "handbook" and merged.tentative is None


def test_a_tentative_answer_is_kept_only_when_no_knowledge_base_has_an_answer():
    q = "budget?"
    guess = QAResult(q, None, [], [RetrievedPassage(SALARY, 2.0)], tentative=_answer(q, SALARY, "70,000 to 85,000 EUR", 0.12))
    nothing = QAResult(q, None, [], [RetrievedPassage(LEAVE, 4.0)])
    merged = merge_results(q, [("handbook", nothing), ("hr", guess)])
    assert merged.answer is None and merged.tentative.text == "70,000 to 85,000 EUR" and merged.answered_from == "hr"
    answered = QAResult(q, _answer(q, LEAVE, "25 days", 0.6), [], [RetrievedPassage(LEAVE, 4.0)])
    assert merge_results(q, [("handbook", answered), ("hr", guess)]).tentative is None


def test_one_knowledge_base_keeps_its_own_ranking():
    q = "vacation?"
    own = QAResult(q, _answer(q, LEAVE, "25 days", 0.5), [_answer(q, LEAVE, "up to 5", 0.9)], [RetrievedPassage(LEAVE, 4.0)])
    merged = merge_results(q, [("default", own)])
    assert merged.answer.text == "25 days" and [c.text for c in merged.candidates] == ["up to 5"]


def test_knowledge_bases_ask_each_once_per_batch_and_a_failing_one_does_not_sink_the_others():
    class Broken:
        def ask(self, question, top_k=None):
            raise RuntimeError("index offline")

        ask_many = None

    handbook = FakeAnswerer()
    batches = []
    real = handbook.ask_many
    handbook.ask_many = lambda questions: batches.append(list(questions)) or real(questions)
    library = KnowledgeBases({"handbook": handbook, "hr": Broken()})
    outcomes = library.ask_many([("vacation?", ["handbook", "hr"]), ("vacation again?", ["handbook"])])
    assert [o.answer.text for o in outcomes] == ["25 days", "25 days"] and batches == [["vacation?", "vacation again?"]]
    with pytest.raises(ValueError, match="must say which"):
        library.ask_many([("vacation?", None)])


# -- audit: the report and the export by knowledge base ---------------------------------


def test_feedback_report_and_export_filter_by_knowledge_base(tmp_path):
    store = BotStore(tmp_path / "fb.sqlite")
    handbook, hr = FakeAnswerer(), FakeAnswerer(knowledge=HR_KNOWLEDGE, unknown=[SALARY])
    public = KnowledgeBases({"handbook": handbook}).ask_many([("vacation days?", ["handbook"])])[0]
    both = KnowledgeBases({"handbook": handbook, "hr": hr}).ask_many([("salary bands?", ["handbook", "hr"])])[0]
    ids = []
    for result in (public, both):
        ids.append(store.record_answer(result, channel="C1", thread_ts="1.0", asked_by="U1", knowledge_bases=result.searched,
                                       passage_sources=result.passage_sources, answered_from=result.answered_from))
        store.record_vote(ids[-1], "U1", "helpful")
    store.close()
    db = str(tmp_path / "fb.sqlite")
    runner = CliRunner()
    summary = json.loads(runner.invoke(bot_cli.cli, ["feedback", "--database", db, "--json", "--knowledge-base", "hr"]).output)
    assert summary["answers"] == 1 and summary["votes"]["helpful"] == 1 and summary["knowledge_bases"] == {"handbook": 1, "hr": 1}
    everything = runner.invoke(bot_cli.cli, ["feedback", "--database", db])
    assert "answers by knowledge base searched: handbook 2, hr 1" in everything.output

    out = tmp_path / "handbook.json"
    result = runner.invoke(bot_cli.cli, ["feedback", "export", str(out), "--database", db, "--knowledge-base", "handbook"])
    assert result.exit_code == 0, result.output
    exported = out.read_text()
    assert "25 days" in exported and "Salary" not in exported and "70,000" not in exported  # the hr answer stays out
    both_out = tmp_path / "all.json"
    runner.invoke(bot_cli.cli, ["feedback", "export", str(both_out), "--database", db, "--kb", "handbook", "--kb", "hr"])
    assert "70,000" in both_out.read_text()
    none = runner.invoke(bot_cli.cli, ["feedback", "export", str(tmp_path / "x.json"), "--database", db, "--kb", "incidents"])
    assert none.exit_code == 1 and "No votes or corrections to export from knowledge base(s) incidents" in none.output


def test_an_older_database_gets_the_audit_columns_and_its_answers_count_as_the_default_knowledge_base(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE answers (id VARCHAR(32) PRIMARY KEY, created_at VARCHAR(32) NOT NULL, question TEXT NOT NULL, "
                   "answer TEXT, score FLOAT, source_title TEXT, source_path TEXT, source_url TEXT, channel VARCHAR(64), "
                   "thread_ts VARCHAR(64), asked_by VARCHAR(64))")
        db.execute("INSERT INTO answers (id, created_at, question) VALUES ('a1', '2024-01-01T00:00:00', 'old?')")
    store = BotStore(path)
    try:
        assert store.summary(knowledge_bases=["default"])["answers"] == 1
        assert store.summary(knowledge_bases=["hr"])["answers"] == 0
        assert store.answer("a1")["knowledge_bases"] is None
    finally:
        store.close()


def test_manifest_asks_for_the_scopes_and_events_the_audience_checks_need():
    yaml = pytest.importorskip("yaml")
    from spacy_spanqa.bot.__main__ import MANIFEST

    manifest = yaml.safe_load(MANIFEST.read_text())
    assert {"users:read", "usergroups:read", "channels:read", "groups:read", "mpim:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"member_joined_channel", "member_left_channel", "subteam_members_changed"} <= events
