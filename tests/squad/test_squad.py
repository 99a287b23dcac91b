"""The SQuAD file reader and the official metric."""
import json

import pytest

from spacy_spanqa.squad.format import read_squad
from spacy_spanqa.squad.metric import exact_match, f1_score, normalize_answer, squad_evaluate
from spacy_spanqa.squad.splits import add_unanswerable, split_paragraphs


def write(tmp_path, obj, name="d.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf8")
    return path


def squad(context, qas, title="T"):
    return {"version": "v2.0", "data": [{"title": title, "paragraphs": [{"context": context, "qas": qas}]}]}


def test_normalisation_follows_the_official_script():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple and a pear") == "apple and pear"


def test_hand_worked_exact_and_f1():
    assert exact_match("the Tower", "Tower") == 1.0
    assert f1_score("in Paris France", "Paris") == pytest.approx(0.5)  # P=1/3, R=1
    assert f1_score("", "") == 1.0
    assert f1_score("x", "") == 0.0
    golds = {"a": ["Paris", "in Paris"], "b": ["1889"], "c": []}
    preds = {"a": "Paris, France", "b": "1889", "c": ""}
    r = squad_evaluate(golds, preds)
    # a: EM 0, F1 max(2*(1/2*1)/(1.5)=0.667, 2*(1/2*1/2)/1=0.5) ; b: 1/1 ; c: no-answer right
    assert r["exact"] == pytest.approx(200 / 3)
    assert r["f1"] == pytest.approx((2 / 3 + 1 + 1) / 3 * 100)
    assert r["HasAns_total"] == 2 and r["NoAns_total"] == 1
    assert r["NoAns_exact"] == 100.0


def test_missing_prediction_counts_as_no_answer():
    assert squad_evaluate({"a": ["x"]}, {})["exact"] == 0.0


def test_bad_offsets_are_reanchored_and_absent_answers_dropped(tmp_path):
    ctx = "Paris is in France. Paris is big."
    path = write(tmp_path, squad(ctx, [
        {"id": "1", "question": "Where?", "answers": [{"text": "France", "answer_start": 3}]},
        {"id": "2", "question": "What?", "answers": [{"text": "Berlin", "answer_start": 0}]},
        {"id": "3", "question": "None?", "answers": [], "is_impossible": True},
    ]))
    with pytest.warns(UserWarning, match="re-anchored"):
        (p,) = read_squad(path)
    assert [q.id for q in p.questions] == ["1", "3"]
    text, start = p.questions[0].answers[0]
    assert ctx[start : start + len(text)] == "France"
    assert p.questions[1].is_impossible


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ({"version": "1"}, "top-level 'data' list"),
        ({"data": [{"title": "x"}]}, "article 0 is malformed"),
        ({"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": []}]}]}, "holds no questions"),
    ],
)
def test_malformed_files_give_one_clear_error(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        read_squad(write(tmp_path, content))


def test_missing_file_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_squad(tmp_path / "nope.json")


def test_split_is_by_paragraph_and_negatives_do_not_contain_the_answer():
    from spacy_spanqa.squad.format import SquadParagraph, SquadQuestion

    paragraphs = [
        SquadParagraph("t", f"context {i} says {i}", [SquadQuestion(f"q{i}", "what?", [(str(i), 15)])])
        for i in range(20)
    ]
    train, dev = split_paragraphs(paragraphs, 0.25, seed=0)
    assert len(dev) == 5 and not {p.context for p in train} & {p.context for p in dev}
    with_neg = add_unanswerable(train, 1.0, seed=0)
    negatives = [(p, q) for p in with_neg for q in p.questions if q.is_impossible]
    assert negatives
    for p, q in negatives:
        assert not p.context.endswith(q.id.split("-")[0][1:])
