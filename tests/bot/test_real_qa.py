"""The bot with the real QuestionAnswerer: a BM25 index of the example
knowledge base and a tiny random BERT reader, over signed HTTP."""
import json
from pathlib import Path

import pytest

from spacy_spanqa.bot import blocks
from spacy_spanqa.bot.followups import resolve
from tests.bot.mock_slack import MockSlackAPI, app_mention, message, next_ts, send_event
from tests.bot.running import RunningBot

qa = pytest.importorskip("spacy_spanqa.qa")
bm25 = pytest.importorskip("spacy_spanqa.retrieval.bm25")
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


# Thread cases over the example knowledge base: (earlier question, follow-up, gold answer).
THREAD_CASES = [
    ("When did the Lisbon office open?", "What about the Toronto one?", "2023"),
    ("When did the Toronto office open?", "And Lisbon?", "2021"),
    ("How many vacation days do new hires get?", "What about sick days?", "10"),
    ("Where is the headquarters of Northwind Labs?", "When is it open?", "7:00 to 20:00"),
    ("How many paid sick days does every employee have?", "When is a doctor's note needed?", "after three consecutive sick days"),
    ("When did the Lisbon office open?", "What is the daily meal allowance on business trips?", "40 euros"),
    ("How many days per week can employees work from home?", "Who must approve working fully remote?",
     "both your manager and the People team"),
]


@pytest.fixture(scope="module")
def shipped_answerer(tmp_path_factory):
    """The reader that ships with spacy-spanqa, over the example knowledge base."""
    index_path = tmp_path_factory.mktemp("kb-shipped") / "handbook.idx"
    bm25.BM25Index.build(EXAMPLE_KB, index_path, progress=False)
    try:
        return qa.QuestionAnswerer(index_path, top_k=3)
    except ValueError as error:  # the default reader is missing from this install
        pytest.skip(str(error))


def test_thread_follow_ups_with_the_shipped_reader_score_higher_with_their_context(shipped_answerer, tmp_path):
    """Each follow-up asked in the thread of its earlier question, and alone in
    a thread of its own; SQuAD F1 of the posted answers against the gold."""
    from spacy_spanqa.squad.metric import f1_score

    api = MockSlackAPI()
    bot = RunningBot(api, shipped_answerer, tmp_path / "feedback.sqlite")
    rows = []
    try:
        for earlier, follow_up, gold in THREAD_CASES:
            root = next_ts()
            send_event(bot.url, app_mention(earlier, ts=root))
            api.wait_for("chat.postMessage", where=lambda a: a.get("thread_ts") == root, timeout=60)
            send_event(bot.url, message(follow_up, channel="C0001", channel_type="channel", thread_ts=root))
            in_thread = api.wait_for("chat.postMessage", 2, where=lambda a: a.get("thread_ts") == root, timeout=60)[1]
            alone_ts = next_ts()
            send_event(bot.url, app_mention(follow_up, ts=alone_ts))
            (alone,) = api.wait_for("chat.postMessage", where=lambda a: a.get("thread_ts") == alone_ts, timeout=60)
            rows.append((follow_up, gold, _answer_of(in_thread), _answer_of(alone)))
    finally:
        bot.close()
        api.close()
    with_context = [f1_score(a or "", gold) for _, gold, a, _ in rows]
    alone = [f1_score(a or "", gold) for _, gold, _, a in rows]
    for (follow_up, gold, a, b), f_with, f_alone in zip(rows, with_context, alone):
        print(f"{follow_up!r:55} gold {gold!r:40} in thread {a!r} ({f_with:.2f})  alone {b!r} ({f_alone:.2f})")
    print(f"mean F1: in thread {sum(with_context) / len(rows):.2f}, alone {sum(alone) / len(rows):.2f}")
    assert sum(with_context) > sum(alone)
    standalone = [i for i, (earlier, follow_up, _) in enumerate(THREAD_CASES) if resolve(follow_up, earlier).question == follow_up]
    assert standalone and all(with_context[i] == alone[i] for i in standalone)  # read the same: answered the same


def _answer_of(posted):
    text = posted.args["text"]
    if not text.startswith("Answer: "):
        return None
    return text[len("Answer: "):].rsplit(" (source: ", 1)[0]
