"""The HTTP API over a FakeAnswerer: answers, errors as one sentence, tokens, feedback."""
import json
import threading

import pytest

from tests.serve.conftest import TOKEN
from tests.serve.running import request, serve_app

ASK_VACATION = {"question": "How many vacation days do I get?"}


def test_answer_is_a_span_of_its_passage_with_source_and_confidence(server, store):
    status, _, body = request(server.url + "/ask", "POST", ASK_VACATION)
    assert status == 200
    assert body["answered"] is True
    answer = body["answer"]
    assert answer["text"] == "25 days"
    assert answer["passage_text"][answer["start_char"]:answer["end_char"]] == "25 days"
    assert answer["source"] == {"title": "Leave policy", "path": "handbook/leave.md", "url": None}
    assert (answer["score"], answer["confidence"]) == (0.87, "high")
    stored = store.answer(body["answer_id"])
    assert stored["answer"] == "25 days" and stored["channel"] == "web"
    assert stored["asked_text"] == ASK_VACATION["question"]


def test_i_dont_know_lists_the_closest_sources(server):
    status, _, body = request(server.url + "/ask", "POST", {"question": "Who won the 1998 World Cup?"})
    assert status == 200
    assert body["answered"] is False and body["answer"] is None
    assert [s["path"] for s in body["closest_sources"]] == ["handbook/leave.md", "handbook/expenses.md"]


def test_a_batch_is_answered_in_order(server):
    questions = ["When did the Toronto office open?", "Who won the 1998 World Cup?", "What is the meal allowance?"]
    status, _, body = request(server.url + "/ask", "POST", {"questions": questions})
    assert status == 200
    assert [r["question"] for r in body["results"]] == questions
    assert [r["answer"] and r["answer"]["text"] for r in body["results"]] == ["2023", None, "40 euros"]
    assert len({r["answer_id"] for r in body["results"]}) == 3


@pytest.mark.parametrize(
    "raw, status, error",
    [
        (b'{"question": ', 400, "The request body is not valid JSON"),
        (b'{"question": "   "}', 422, "Empty question: ask a question with at least one word."),
        (json.dumps({"question": "why " * 200}).encode(), 422, "The question is 800 characters long; shorten it to 500"),
        (b'{"question": "Hi?", "qestion": "typo"}', 422, "Unknown field 'qestion'"),
        (b'{"question": "a", "questions": ["b"]}', 422, 'Send either "question" (one) or "questions" (a list)'),
        (b'{"questions": []}', 422, "`questions` is empty"),
        (b'["How many vacation days?"]', 422, "The request body must be a JSON object"),
        (json.dumps({"questions": ["vacation?"] * 65}).encode(), 422, "65 questions in one request; send at most 64"),
    ],
)
def test_bad_requests_get_one_sentence_and_the_details(server, raw, status, error):
    got, _, body = request(server.url + "/ask", "POST", raw=raw)
    assert got == status
    assert body["error"].startswith(error)
    assert body["error"].endswith(".") and body["error"].count(". ") == 0  # one sentence
    assert isinstance(body["detail"], list) and body["detail"]


def test_an_oversize_body_is_refused_before_it_is_read(server, fake):
    got, _, body = request(server.url + "/ask", "POST", raw=b'{"question": "' + b"x" * 300_000 + b'"}')
    assert got == 413
    assert body["error"] == "The request body is over 256 KiB; send fewer or shorter questions."
    assert fake.asked == []


def test_unknown_routes_and_methods_point_to_the_docs(server):
    assert request(server.url + "/answer", "POST", ASK_VACATION)[2] == {
        "error": "There is no /answer; the API is described at /docs."
    }
    status, _, body = request(server.url + "/ask")
    assert status == 405 and body["error"] == "GET is not allowed on /ask; the API is described at /docs."


def test_openapi_documents_the_ask_request_and_answer(server):
    status, _, schema = request(server.url + "/openapi.json")
    assert status == 200
    assert {"/ask", "/feedback/vote", "/feedback/correction", "/healthz", "/insights"} <= set(schema["paths"])
    assert {"AskRequest", "AnswerResponse", "SpanInPassage", "ErrorBody"} <= set(schema["components"]["schemas"])
    assert request(server.url + "/docs")[0] == 200


def test_a_token_server_refuses_requests_without_it_or_with_another(token_server):
    status, headers, body = request(token_server.url + "/ask", "POST", ASK_VACATION)
    assert status == 401 and headers.get("www-authenticate") == "Bearer"
    assert body["error"] == "This server needs its API token: send `Authorization: Bearer TOKEN`."
    status, _, body = request(token_server.url + "/ask", "POST", ASK_VACATION, token="guess")
    assert status == 401 and body["error"].startswith("Wrong API token")
    assert request(token_server.url + "/insights", token="guess")[0] == 401
    assert request(token_server.url + "/insights/votes.csv")[0] == 401


def test_a_token_server_answers_with_it_and_health_needs_none(token_server):
    status, _, body = request(token_server.url + "/ask", "POST", ASK_VACATION, token=TOKEN)
    assert status == 200 and body["answer"]["text"] == "25 days"
    assert request(token_server.url + "/healthz")[2]["status"] == "ok"
    assert request(token_server.url + "/")[0] == 200  # the page holds no data; it asks for the token


def test_votes_and_corrections_land_in_the_bot_database(server, store):
    answer_id = request(server.url + "/ask", "POST", ASK_VACATION)[2]["answer_id"]
    for vote in ("helpful", "not_helpful"):  # a second vote replaces the first
        status, _, body = request(server.url + "/feedback/vote", "POST", {"answer_id": answer_id, "vote": vote, "user": "ana"})
        assert status == 200
    status, _, body = request(server.url + "/feedback/correction", "POST",
                              {"answer_id": answer_id, "text": "25  DAYS of paid vacation", "user": "ana"})
    assert status == 200 and body["found_in_passage"] is True
    (row,) = store.training_rows()
    assert (row["helpful"], row["not_helpful"]) == (0, 1)
    assert row["corrections"][0]["text"] == "25 days of paid vacation"  # as the passage has it
    assert store.summary()["votes"] == {"helpful": 0, "not_helpful": 1}


def test_feedback_on_an_unknown_answer_or_with_an_unknown_vote_is_refused(server):
    status, _, body = request(server.url + "/feedback/vote", "POST", {"answer_id": "nope", "vote": "helpful"})
    assert status == 404 and "No answer has the id 'nope'" in body["error"]
    answer_id = request(server.url + "/ask", "POST", ASK_VACATION)[2]["answer_id"]
    status, _, body = request(server.url + "/feedback/vote", "POST", {"answer_id": answer_id, "vote": "meh"})
    assert status == 422 and body["error"] == "Unknown vote 'meh'; send one of helpful, not_helpful."
    status, _, body = request(server.url + "/feedback/correction", "POST", {"answer_id": answer_id, "text": " "})
    assert status == 422 and body["error"].startswith("Empty correction")


class GatedAnswerer:
    """Answers like FakeAnswerer, but its first ask_many waits for `gate`; records batch sizes."""

    def __init__(self, fake):
        self.fake = fake
        self.batches = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def ask(self, question, top_k=None):
        return self.ask_many([question])[0]

    def ask_many(self, questions, top_k=None):
        self.batches.append(len(questions))
        self.entered.set()
        assert self.gate.wait(30)
        return self.fake.ask_many(questions)


def test_concurrent_requests_share_reader_batches(fake, store):
    answerer = GatedAnswerer(fake)
    running = serve_app(answerer, store, max_batch=8)
    try:
        results = []
        first = threading.Thread(target=lambda: results.append(request(running.url + "/ask", "POST", ASK_VACATION)))
        first.start()
        assert answerer.entered.wait(30)  # the worker holds the first question; the next ones queue up
        others = [threading.Thread(target=lambda: results.append(request(running.url + "/ask", "POST", ASK_VACATION)))
                  for _ in range(5)]
        for thread in others:
            thread.start()
        queue = running.server.config.app.state.answering.queue
        for _ in range(3000):  # until all five wait in the queue (its size is not public: read it here only)
            if queue.pending == 5:
                break
            threading.Event().wait(0.01)
        answerer.gate.set()
        for thread in [first, *others]:
            thread.join(30)
        assert [status for status, _, _ in results] == [200] * 6
        assert answerer.batches == [1, 5]
    finally:
        answerer.gate.set()
        running.close()
