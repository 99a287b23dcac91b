"""Paragraphs of parallel facts: every answer sits in its entity's sentence, and dev shares no names with train."""
import pytest

from spacy_spanqa.squad.parallel_facts import DEV_ONLY, parallel_fact_paragraphs


def _words(text):
    return {w.strip(".,?$").lower() for w in text.split()}


def test_every_answer_is_the_value_of_the_asked_entitys_sentence():
    paragraphs = parallel_fact_paragraphs(60, "train", seed=3)
    assert len(paragraphs) == 60
    for p in paragraphs:
        sentences = p.context.split(". ")
        assert len(sentences) >= 3  # parallel facts, not one fact
        for q in p.questions:
            for text, start in q.answers:
                assert p.context[start : start + len(text)] == text
                holding = [s for s in sentences if f" {text} " in f" {s.rstrip('.')} "]
                assert len(holding) == 1, (text, p.context)  # the answer is in one sentence only
                others = set().union(*(_words(s) for s in sentences if s is not holding[0]))
                # the question names an entity of that sentence and of no other
                assert _words(q.question) & (_words(holding[0]) - others), (q.question, holding[0])
            if not q.answers:
                assert q.id.endswith("-none")


def test_unanswerable_questions_name_an_entity_the_paragraph_lacks():
    asked = 0
    for p in parallel_fact_paragraphs(40, "dev", seed=1):
        for q in p.questions:
            if not q.answers:
                asked += 1
                assert _words(q.question) - _words(p.context), q.question
    assert asked >= 20  # every paragraph with an unused entity of its kind


def test_dev_has_other_names_and_relations_training_never_sees():
    train = parallel_fact_paragraphs(200, "train")
    dev = parallel_fact_paragraphs(100, "dev")
    relations = lambda ps: {p.title.split(": ", 1)[1] for p in ps}  # noqa: E731
    assert not relations(train) & set(DEV_ONLY) and set(DEV_ONLY) <= relations(dev)
    train_answers = {t for p in train for q in p.questions for t, _ in q.answers}
    dev_answers = {t for p in dev for q in p.questions for t, _ in q.answers}
    names = lambda answers: {a for a in answers if " " in a and a[0].isupper()}  # noqa: E731  (people, companies)
    assert names(dev_answers) and not names(train_answers) & names(dev_answers)


def test_a_wrong_split_name_is_refused():
    with pytest.raises(ValueError, match="split must be 'train' or 'dev'"):
        parallel_fact_paragraphs(1, "test")
