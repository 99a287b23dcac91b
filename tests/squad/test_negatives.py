"""Generated unanswerable questions hold no gold answer; `spanqa split` writes them reproducibly."""
import json
import subprocess
import sys

from spacy_spanqa.squad.format import SquadParagraph, SquadQuestion, read_squad
from spacy_spanqa.squad.metric import mentions_answer
from spacy_spanqa.squad.negatives import (
    ANTONYM_SUFFIX,
    ON_TOPIC_SUFFIX,
    TYPE_SUFFIX,
    answer_type_negatives,
    antonym_negatives,
    RETRIEVAL_SUFFIX,
    SWAP_SUFFIX,
    entity_swap_negatives,
    on_topic_negatives,
    retrieval_negatives,
)

PARAGRAPHS = [
    ("Lisbon", "The Lisbon office opened in 2019. It has forty desks and a roof terrace. "
     "Staff there work on payments. The office manager is Ana Costa."),
    ("Lisbon", "Lisbon is the capital of Portugal. The city lies on the Tagus river. "
     "Its tram 28 is famous with visitors. The river meets the Atlantic Ocean nearby."),
    ("Toronto", "The Toronto office opened in 2023. It sits on King Street near the lake. "
     "About sixty people work there. Most of them build the mobile apps."),
    ("Travel", "Book business trips through the travel desk. Flights over six hours may be "
     "business class. Hotels are booked by the desk as well. Receipts go to finance within a month."),
]
QUESTIONS = [
    [("When did the Lisbon office open?", "2019"), ("Who manages the Lisbon office?", "Ana Costa")],
    [("Which river flows through Lisbon?", "Tagus"), ("Which tram is famous in Lisbon?", "tram 28")],
    [("When did the Toronto office open?", "2023"), ("How many people work in Toronto?", "About sixty")],
    [("Where do I book business trips?", "the travel desk"), ("When may flights be business class?", "over six hours")],
]


def paragraphs():
    out = []
    for i, ((title, context), qs) in enumerate(zip(PARAGRAPHS, QUESTIONS)):
        questions = [SquadQuestion(f"{i}-{j}", q, [(a, context.index(a))]) for j, (q, a) in enumerate(qs)]
        out.append(SquadParagraph(title, context, questions))
    return out


def golds(ps):
    return {q.id: [t for t, _ in q.answers] for p in ps for q in p.questions}


def test_on_topic_negative_drops_the_answer_sentence_and_keeps_the_rest():
    ps = paragraphs()
    made = on_topic_negatives(ps, 1.0)
    found = {q.id: p.context for p in made for q in p.questions}
    assert len(found) == 8
    context = found["0-0" + ON_TOPIC_SUFFIX]
    assert "2019" not in context and "forty desks" in context and "Ana Costa" in context
    for qid, context in found.items():
        assert not mentions_answer(context, golds(ps)[qid[: -len(ON_TOPIC_SUFFIX)]])
        assert all(not q.answers for p in made for q in p.questions)


def test_on_topic_negative_skips_an_answer_that_also_occurs_elsewhere():
    context = "Ana Costa manages the office. She is called Ana Costa by everyone. It opened in 2019."
    q = SquadQuestion("q", "Who manages the office?", [("Ana Costa", 0)])
    assert on_topic_negatives([SquadParagraph("t", context, [q])], 1.0) == []


def test_retrieval_negative_is_another_paragraph_without_any_gold_answer():
    ps = paragraphs()
    made = retrieval_negatives(ps, 1.0)
    by_question = {q.id: p for p in made for q in p.questions}
    assert len(by_question) == 8
    for qid, p in by_question.items():
        source = qid[: -len(RETRIEVAL_SUFFIX)]
        own = ps[int(source.split("-")[0])].context
        assert p.context != own
        assert not mentions_answer(p.context, golds(ps)[source])
    # BM25 ranks the topically closest other paragraph first: Lisbon office -> Lisbon city.
    assert by_question["0-0" + RETRIEVAL_SUFFIX].context == PARAGRAPHS[1][1]


def test_swap_negative_asks_about_a_name_or_number_the_paragraph_never_mentions():
    ps = paragraphs()
    made = entity_swap_negatives(ps, 1.0)
    by_question = {q.id: (p, q) for p in made for q in p.questions}
    lisbon = by_question["0-0" + SWAP_SUFFIX]  # "When did the Lisbon office open?"
    assert lisbon[1].question in ("When did the Toronto office open?", "When did the Lisbon office open?".replace("Lisbon", "Tagus"))
    for qid, (p, q) in by_question.items():
        source = ps[int(qid.split("-")[0])]
        original = next(o for o in source.questions if o.id == qid[: -len(SWAP_SUFFIX)])
        assert p.context == source.context and q.question != original.question and not q.answers
        swapped_in = [w for w in q.question.split() if w not in original.question.split()]
        assert swapped_in and not mentions_answer(p.context, [" ".join(swapped_in).strip("?")])


def test_antonym_negative_asks_for_what_the_paragraph_never_says():
    stations = SquadParagraph("Rail", "The first station opened in 1901 beside the harbour, after the bridge. It is the largest in town.", [
        SquadQuestion("s-0", "When did the first station open?", [("1901", 28)]),
        SquadQuestion("s-1", "Which station is the largest?", [("The first station", 0)]),
        SquadQuestion("s-2", "Was the station built before or after 1900?", [("after", 0)]),
    ])
    made = antonym_negatives([stations], 1.0)
    questions = {q.id: q.question for p in made for q in p.questions}
    assert questions == {"s-0" + ANTONYM_SUFFIX: "When did the last station open?",
                         "s-1" + ANTONYM_SUFFIX: "Which station is the smallest?"}
    assert all(p.context == stations.context and not any(q.answers for q in p.questions) for p in made)
    # A paragraph that also says "last" could answer "the last station": no negative.
    both = SquadParagraph("Rail", stations.context + " The last station opened in 1990.", stations.questions[:1])
    assert antonym_negatives([both], 1.0) == []


def test_answer_type_negative_goes_to_an_on_topic_paragraph_without_numbers_or_dates():
    texts = ["The Lisbon office opened in 2019 with forty desks.",
             "The Lisbon office has a roof terrace and a view of the river.",
             "Lisbon trams are yellow and often full of visitors."]
    ps = [SquadParagraph("Lisbon", t, []) for t in texts]
    ps[0].questions += [SquadQuestion("l-0", "When did the Lisbon office open?", [("2019", 27)]),
                        SquadQuestion("l-1", "What is in the Lisbon office?", [("forty desks", 37)])]
    made = answer_type_negatives(ps, 1.0)
    assert [(p.context, [(q.id, q.question, q.answers) for q in p.questions]) for p in made] == [
        (texts[1], [("l-0" + TYPE_SUFFIX, "When did the Lisbon office open?", [])])]


def test_mentions_answer_compares_like_the_squad_metric():
    assert mentions_answer("It opened in The Year 2019!", ["the year 2019"])
    assert not mentions_answer("It opened in 20190.", ["2019"])


def test_split_writes_train_and_half_unanswerable_dev_sets_reproducibly(tmp_path):
    ps = paragraphs() * 5  # 20 paragraphs, so the held-out share is not empty
    data = [{"title": p.title, "paragraphs": [{"context": p.context, "qas": [
        {"id": f"{k}-{q.id}", "question": q.question,
         "answers": [{"text": t, "answer_start": s} for t, s in q.answers]} for q in p.questions]}]}
        for k, p in enumerate(ps)]
    src = tmp_path / "kb_v1.0.json"
    src.write_text(json.dumps({"version": "v1.1", "data": data}))

    def run(out):
        cmd = [sys.executable, "-m", "spacy_spanqa.cli", "split", str(src), "--train-out", str(out / "train.json"),
               "--dev-dir", str(out), "--dev-fraction", "0.2", "--parallel-facts", "10"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return out

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    for name in ("train.json", "dev_kb.json", "dev_kb_negatives.json", "dev_all_negatives.json", "dev_parallel_facts.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    train = read_squad(a / "train.json")
    assert any(q.is_impossible for p in train for q in p.questions)
    assert sum(p.title.startswith("parallel facts: ") for p in train) == 10
    assert len(read_squad(a / "dev_parallel_facts.json")) == 2  # a fifth as many, held out
    dev = read_squad(a / "dev_kb_negatives.json")
    answerable = sum(1 for p in dev for q in p.questions if q.answers)
    unanswerable = sum(1 for p in dev for q in p.questions if not q.answers)
    assert answerable == 8 and unanswerable == answerable
    gold = {q.id: [t for t, _ in q.answers] for p in read_squad(a / "dev_kb.json") for q in p.questions}
    for p in dev:
        for q in p.questions:
            if not q.answers and not q.id.endswith(SWAP_SUFFIX):  # a swap keeps its own paragraph
                assert not mentions_answer(p.context, gold[q.id.rsplit("-neg-", 1)[0]])
