"""The bot with the real QuestionAnswerer: a BM25 index of the example
knowledge base and a tiny random BERT reader, over signed HTTP."""
import json
from pathlib import Path

import pytest

from bot import blocks
from bot_helpers import MockSlackAPI, RunningBot, app_mention, send_event

qa = pytest.importorskip("spacy_spanqa.qa")
bm25 = pytest.importorskip("spacy_spanqa.bm25")
EXAMPLE_KB = Path(qa.__file__).parent / "example_kb"


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, tiny_model_dir):
    index_path = tmp_path_factory.mktemp("kb") / "handbook.idx"
    bm25.BM25Index.build(EXAMPLE_KB, index_path, progress=False)
    return qa.QuestionAnswerer(index_path, model=str(tiny_model_dir), top_k=2)


def test_mention_is_answered_with_the_real_question_answerer(answerer, tmp_path):
    api = MockSlackAPI()
    bot = RunningBot(api, answerer, tmp_path / "feedback.sqlite")
    try:
        payload = app_mention("How many vacation days do employees get?")
        status, _, elapsed = send_event(bot.url, payload)
        assert status == 200 and elapsed < 3
        (posted,) = api.wait_for("chat.postMessage", timeout=30)
        assert posted.args["thread_ts"] == payload["event"]["ts"]
        assert "Sorry" not in posted.args["text"], posted.args["text"]
        result = answerer.ask("How many vacation days do employees get?")
        rendered = json.dumps(posted.args["blocks"])
        if result.answer is None:
            assert "couldn't find an answer" in rendered
            source = result.passages[0].passage
        else:
            assert result.answer.text == result.answer.passage.text[result.answer.start_char : result.answer.end_char]
            assert posted.args["text"].startswith("Answer: " + " ".join(result.answer.text.split()) + " (source: ")
            source = result.answer.passage
        assert json.dumps(blocks.escape(source.title))[1:-1] in rendered
    finally:
        bot.close()
        api.close()
