"""Insights from a seeded database: the numbers, the grouping of unanswered
questions, the page (SVG charts, CSV links, nothing fetched) and `spanqa-bot report`."""
import re
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from spacy_spanqa.serve.grouping import group_questions, key_words
from tests.bot.fakes import FakeAnswerer
from tests.serve.running import request

UNANSWERED = [
    "How do I reset my password?",
    "how do I reset my password",
    "Reset password: how?",
    "How can I reset my passwords",
    "What is the wifi password?",
    "Who won the 1998 World Cup?",
]


def seed(store):
    """Three days of answers: day 1 two answered, day 2 one answered and four
    unknown, day 3 one answered and two unknown; votes on two answers."""
    from sqlalchemy import update

    from spacy_spanqa.bot.store import answers

    fake = FakeAnswerer()
    plan = [
        ("2026-03-01", "How many vacation days do I get?", 0.91),
        ("2026-03-01", "When did the Toronto office open?", 0.55),
        ("2026-03-02", "How many vacation days do new hires get?", 0.42),
        *(("2026-03-02", q, None) for q in UNANSWERED[:4]),
        ("2026-03-03", "When did the Lisbon office open?", 0.88),
        *(("2026-03-03", q, None) for q in UNANSWERED[4:]),
    ]
    ids = []
    for day, question, score in plan:
        result = fake.ask(question)
        if score is not None:
            result.answer.score = score
        answer_id = store.record_answer(result, channel="C1" if day != "2026-03-03" else "web", thread_ts="1.0",
                                        asked_by="U1", asked_text=question)
        with store.engine.begin() as conn:
            conn.execute(update(answers).where(answers.c.id == answer_id).values(created_at=day + "T10:00:00+00:00"))
        ids.append(answer_id)
    store.record_vote(ids[0], "U1", "helpful")
    store.record_vote(ids[0], "U2", "helpful")
    store.record_vote(ids[1], "U1", "not_helpful")
    store.record_correction(ids[1], "U1", text="2023")
    return ids


def test_key_words_drop_stopwords_case_punctuation_and_plurals():
    assert key_words("How do I reset my Passwords?") == {"reset", "password"}


def test_unanswered_questions_asking_the_same_thing_are_grouped():
    groups = group_questions(UNANSWERED)
    assert [(g.question, g.count) for g in groups] == [
        ("How do I reset my password?", 4),  # two wordings normalise to one; two more overlap
        ("What is the wifi password?", 1),  # shares only "password": 1 of 3 key words
        ("Who won the 1998 World Cup?", 1),
    ]
    # Most asked wording first, then the others by their normalised text.
    assert groups[0].wordings == ["How do I reset my password?", "How can I reset my passwords", "Reset password: how?"]


def test_insights_count_days_confidence_votes_and_documents(store):
    from spacy_spanqa.serve.insights import read_insights

    seed(store)
    insights = read_insights(store, documents=["handbook/leave.md", "handbook/offices.txt", "handbook/never.md"])
    assert [(d.day, d.asked, d.answered, d.unknown) for d in insights.days] == [
        ("2026-03-01", 2, 2, 0), ("2026-03-02", 5, 1, 4), ("2026-03-03", 3, 1, 2)]
    assert insights.confidence == [0, 0, 0, 0, 1, 1, 0, 0, 1, 1]
    assert insights.votes == {"helpful": 2, "not_helpful": 1} and insights.corrections == 1
    assert insights.where_asked == {"slack": 7, "web": 3}
    assert [(g.question, g.count) for g in insights.unanswered][0] == ("How do I reset my password?", 4)
    assert [(d.path, d.answers, d.helpful, d.not_helpful) for d in insights.documents] == [  # ties by path
        ("handbook/leave.md", 2, 2, 0), ("handbook/offices.txt", 2, 0, 1)]
    assert insights.unused_documents == ["handbook/never.md"]


def test_the_page_draws_svg_charts_with_csv_links_and_fetches_nothing(store):
    from spacy_spanqa.serve.insights import read_insights
    from spacy_spanqa.serve.report import insights_html

    seed(store)
    page = insights_html(read_insights(store, documents=["handbook/leave.md", "handbook/never.md"]))
    assert page.count("<svg") == 4
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from elsewhere
    assert '<dd data-testid="votes-helpful">2</dd>' in page
    links = dict(re.findall(r'download="([a-z_]+)\.csv" href="data:text/csv;charset=utf-8,([^"]*)"', page))
    assert set(links) == {"questions_per_day", "confidence", "votes", "unanswered", "documents", "unused_documents"}
    assert unquote(links["questions_per_day"]).splitlines() == [
        "day,asked,answered,i_dont_know,answered_share",
        "2026-03-01,2,2,0,1.0", "2026-03-02,5,1,4,0.2", "2026-03-03,3,1,2,0.3333"]
    assert unquote(links["unused_documents"]).splitlines() == ["path", "handbook/never.md"]


def test_the_server_shows_insights_and_serves_each_table_as_csv(server, store):
    seed(store)
    status, _, page = request(server.url + "/insights")
    assert status == 200 and "Most frequent unanswered questions" in page
    status, headers, csv_text = request(server.url + "/insights/votes.csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert csv_text.splitlines() == ["vote,count", "helpful,2", "not_helpful,1", "corrections,1"]
    status, _, body = request(server.url + "/insights/nope.csv")
    assert status == 404 and body["error"].startswith("No insights table 'nope'; choose one of questions_per_day")
    data = request(server.url + "/insights.json")[2]
    assert data["unused_documents"] == ["handbook/expenses.md", "handbook/unused.md"]


def test_bot_report_writes_the_insights_page_as_one_file(store, tmp_path):
    from spacy_spanqa.bot import __main__ as bot_cli

    seed(store)
    out = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(bot_cli.cli, ["report", "--html", str(out), "--database", str(store.path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Wrote the insights of 10 questions to {out}."
    page = out.read_text(encoding="utf8")
    assert page.startswith("<!doctype html>") and "<style>" in page and page.count("<svg") == 4
    assert "How do I reset my password?" in page


def test_bot_report_without_a_database_says_so(tmp_path):
    from spacy_spanqa.bot import __main__ as bot_cli

    result = CliRunner().invoke(bot_cli.cli, ["report", "--html", str(tmp_path / "r.html"),
                                              "--database", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 1 and "There is no feedback database" in result.output
    assert not (tmp_path / "r.html").exists()


def test_report_lists_documents_never_used_from_a_folder_index(store, tmp_path):
    """The folder index's manifest lists its files (the real index's, end to end: test_served)."""
    from spacy_spanqa.retrieval import bm25_store
    from spacy_spanqa.serve.insights import documents_in_index, read_insights

    index = tmp_path / "kb.idx"
    index.mkdir()
    build = bm25_store.new_build(index)
    files = {name: {"sha256": "0", "start": 0, "end": 1} for name in ("handbook/offices.txt", "handbook/never.md", "handbook/leave.md")}
    bm25_store.write_manifest(build, {"files": files})
    bm25_store.publish(index, build)
    seed(store)
    documents = documents_in_index(str(index))
    assert documents == ["handbook/leave.md", "handbook/never.md", "handbook/offices.txt"]
    assert read_insights(store, documents).unused_documents == ["handbook/never.md"]
    assert documents_in_index(str(tmp_path / "milvus.db")) is None
    assert documents_in_index(str(tmp_path)) is None  # a folder without an index


def test_bar_heights_follow_the_values_on_whole_number_grid_lines():
    from spacy_spanqa.serve.charts import Series, bar_chart

    svg = bar_chart("Votes", ["a", "b", "c"], [Series("votes", [1, 3, 0], "bar-votes")])
    heights = [float(h) for h in re.findall(r'<rect class="bar bar-votes" [^>]*height="([0-9.]+)"', svg)]
    assert heights[0] * 3 == pytest.approx(heights[1], abs=0.3) and heights[2] == 0  # drawn to 0.1 px
    assert re.findall(r'text-anchor="end">([^<]+)<', svg) == ["0", "1", "2", "3"]
