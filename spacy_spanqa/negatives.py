"""Unanswerable questions that look like the reader's real failures.

SQuAD 2.0 teaches "no answer" with questions written against a paragraph that
does not hold the answer. We have none written, so we make two kinds from
answerable questions:

- on-topic: the question against its own paragraph with every sentence that
  holds a gold answer removed: same topic, same words, the answer gone;
- retrieval: the question against the best BM25 passages of *other*
  paragraphs that mention none of its gold answers, which is what the reader
  sees when a knowledge base lacks the answer.

Both are checked: no gold answer (normalised as the SQuAD metric does) occurs
in a generated context.
"""
import random
from typing import Dict, List, Optional, Sequence, Tuple

from .reader.metric import normalize_answer
from .squad import SquadParagraph, SquadQuestion

ON_TOPIC_SUFFIX = "-neg-topic"
RETRIEVAL_SUFFIX = "-neg-bm25"


def mentions_any(context: str, answers: Sequence[str]) -> bool:
    """Whether any answer occurs in the context, compared as the SQuAD metric
    compares answers (case, punctuation and articles ignored)."""
    norm = f" {normalize_answer(context)} "
    return any(f" {normalize_answer(a)} " in norm for a in answers if normalize_answer(a))


def sentence_spans(text: str, nlp=None) -> List[Tuple[int, int]]:
    """(start_char, end_char) of each sentence, by spaCy's rule-based sentencizer."""
    if nlp is None:
        nlp = sentencizer()
    return [(s.start_char, s.end_char) for s in nlp(text).sents]


def sentencizer():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def remove_answer_sentences(
    context: str, sentences: Sequence[Tuple[int, int]], question: SquadQuestion
) -> Optional[str]:
    """The context without the sentences that hold the question's gold answers,
    or None when nothing sensible is left (a one-sentence paragraph, or a gold
    answer that also occurs elsewhere)."""
    spans = [(start, start + len(text)) for text, start in question.answers]
    keep = [(s, e) for s, e in sentences if not any(a < e and s < b for a, b in spans)]
    if not keep or len(keep) == len(sentences):
        return None
    text = " ".join(context[s:e].strip() for s, e in keep).strip()
    if len(text.split()) < 8 or mentions_any(text, [t for t, _ in question.answers]):
        return None
    return text


def on_topic_negatives(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0
) -> List[SquadParagraph]:
    """For a `fraction` of answerable questions, a new paragraph: the question's
    own context with its answer sentences removed, the question unanswerable."""
    if fraction <= 0:
        return []
    rng = random.Random(seed)
    nlp = sentencizer()
    out: Dict[Tuple[str, str], SquadParagraph] = {}
    for p in paragraphs:
        chosen = [q for q in p.questions if q.answers and rng.random() < fraction]
        if not chosen:
            continue
        sentences = sentence_spans(p.context, nlp)
        for q in chosen:
            text = remove_answer_sentences(p.context, sentences, q)
            if text is None:
                continue
            para = out.setdefault((p.title, text), SquadParagraph(p.title, text, []))
            para.questions.append(SquadQuestion(q.id + ON_TOPIC_SUFFIX, q.question, []))
    return list(out.values())


def retrieval_negatives(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0, depth: int = 5
) -> List[SquadParagraph]:
    """For a `fraction` of answerable questions, the question asked of the
    best-ranked other paragraph (BM25 over all contexts, top `depth`) that
    mentions none of its gold answers. Returns copies of the paragraphs that
    received such questions, holding only those questions."""
    import bm25s

    if fraction <= 0 or len(paragraphs) < 2:
        return []
    rng = random.Random(seed)
    chosen = [
        (i, q) for i, p in enumerate(paragraphs) for q in p.questions
        if q.answers and rng.random() < fraction
    ]
    if not chosen:
        return []
    retriever = bm25s.BM25()
    retriever.index(_tokens([p.context for p in paragraphs]), show_progress=False)
    queries = _tokens([q.question for _, q in chosen])
    k = min(depth + 1, len(paragraphs))
    ranked, _ = retriever.retrieve(queries, k=k, show_progress=False, n_threads=1)
    extra: Dict[int, List[SquadQuestion]] = {}
    for (i, q), hits in zip(chosen, ranked):
        gold = [t for t, _ in q.answers]
        for j in hits:
            j = int(j)
            if j != i and not mentions_any(paragraphs[j].context, gold):
                extra.setdefault(j, []).append(SquadQuestion(q.id + RETRIEVAL_SUFFIX, q.question, []))
                break
    return [
        SquadParagraph(paragraphs[j].title, paragraphs[j].context, qs) for j, qs in sorted(extra.items())
    ]


def _tokens(texts: List[str]) -> List[List[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
