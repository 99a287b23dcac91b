"""Unanswerable questions that look like the reader's real failures.

SQuAD 2.0 teaches "no answer" with questions written against a paragraph that
does not hold the answer. We have few written ones, so we make five kinds from
answerable questions:

- on-topic: the question against its own paragraph with every sentence that
  holds a gold answer removed: same topic, same words, the answer gone;
- retrieval: the question against the best BM25 passages of *other*
  paragraphs that mention none of its gold answers, which is what the reader
  sees when a knowledge base lacks the answer;
- swap: the question with a name or number swapped for one its paragraph
  never mentions, asked of its own paragraph (SQuAD 2.0's commonest written kind);
- antonym: the question with "first", "largest", "before", ... turned into
  its antonym, which its paragraph never uses (the next commonest);
- answer type: a "When"/"How many" question asked of the paragraph of its
  article that shares most of its words but holds no number or date.

All are checked: no gold answer (normalised as the SQuAD metric does) occurs
in a generated context.
"""
import random
import re
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..sentences import sentence_spans
from .format import SquadParagraph, SquadQuestion
from .metric import mentions_answer

ON_TOPIC_SUFFIX = "-neg-topic"
RETRIEVAL_SUFFIX = "-neg-bm25"


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
    if len(text.split()) < 8 or mentions_answer(text, [t for t, _ in question.answers]):
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
    out: Dict[Tuple[str, str], SquadParagraph] = {}
    for p in paragraphs:
        chosen = [q for q in p.questions if q.answers and rng.random() < fraction]
        if not chosen:
            continue
        sentences = sentence_spans(p.context)
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
            if j != i and not mentions_answer(paragraphs[j].context, gold):
                extra.setdefault(j, []).append(SquadQuestion(q.id + RETRIEVAL_SUFFIX, q.question, []))
                break
    return [
        SquadParagraph(paragraphs[j].title, paragraphs[j].context, qs) for j, qs in sorted(extra.items())
    ]


def _tokens(texts: List[str]) -> List[List[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def paragraphs_by_title(paragraphs: Sequence[SquadParagraph]) -> Dict[str, List[int]]:
    """The indices of the paragraphs of each article (title), in order."""
    by_title: Dict[str, List[int]] = {}
    for i, p in enumerate(paragraphs):
        by_title.setdefault(p.title, []).append(i)
    return by_title


SWAP_SUFFIX = "-neg-swap"
# Names (runs of capitalised words) and numbers, swapped only for their own kind.
_NAME = re.compile(r"\b[A-Z][a-z][\w'\-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'\-]*)*")
_NUMBER = re.compile(r"\b\d[\d,]*\b")
_FUNCTION_WORDS = set("a an and are as at be but by did do does for from had has have how if in is it its "
                      "of on or that the their there these they this to was were what when where which "
                      "who whom whose why will with".split())


def _content_words(text: str) -> Set[str]:
    """The lowercased words of `text` other than function words."""
    return set(re.findall(r"\w+", text.lower())) - _FUNCTION_WORDS


def _names_and_numbers(text: str) -> Dict[str, List[str]]:
    """Names and numbers by kind: 'name', 'year' (1000-2099), 'number<digits>'."""
    out: Dict[str, List[str]] = {}
    for m in _NAME.finditer(text):
        first = m.group(0).split()[0].lower()
        before = text[: m.start()].rstrip()[-1:]
        if before in ("", ".", "!", "?", ":", '"', "(") or first in _FUNCTION_WORDS:
            continue  # a sentence's first word is capitalised whatever it is
        out.setdefault("name", []).append(m.group(0))
    for m in _NUMBER.findall(text):
        digits = m.replace(",", "")
        kind = "year" if len(digits) == 4 and 1000 <= int(digits) <= 2099 else f"number{len(digits)}"
        out.setdefault(kind, []).append(m)
    return out


def entity_swap_negatives(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0
) -> List[SquadParagraph]:
    """For a `fraction` of answerable questions, the question with one of its
    names or numbers swapped for one from another paragraph of the same
    article that its own paragraph never mentions ("When did the Lisbon office
    open?" -> "When did the Toronto office open?"), asked of its own paragraph.
    The wording still matches the answer's sentence but the paragraph no longer
    answers it: the commonest kind of SQuAD 2.0's written unanswerable questions.
    Returns copies of the paragraphs holding only such questions."""
    if fraction <= 0:
        return []
    rng = random.Random(seed)
    by_title = paragraphs_by_title(paragraphs)
    found = [_names_and_numbers(p.context) for p in paragraphs]
    out: List[SquadParagraph] = []
    for i, p in enumerate(paragraphs):
        made = []
        for q in p.questions:
            if not q.answers or rng.random() >= fraction:
                continue
            mentions = _names_and_numbers(q.question)
            kinds = [(k, m) for k, ms in mentions.items() for m in ms if mentions_answer(p.context, [m])]
            if not kinds:
                continue
            kind, old = rng.choice(kinds)
            others = [j for j in by_title[p.title] if j != i] or list(range(len(paragraphs)))
            pool = sorted({m for j in others for m in found[j].get(kind, [])})
            rng.shuffle(pool)
            new = next((m for m in pool if m != old and not mentions_answer(p.context, [m])), None)
            if new is None:
                continue
            made.append(SquadQuestion(q.id + SWAP_SUFFIX, q.question.replace(old, new, 1), []))
        if made:
            out.append(SquadParagraph(p.title, p.context, made))
    return out


ANTONYM_SUFFIX = "-neg-antonym"
# Pairs SQuAD 2.0's writers used to turn a question into a look-alike with no
# answer ("What was the first ...?" -> "What was the last ...?"); both directions.
_ANTONYM_PAIRS = (
    "first last, largest smallest, biggest smallest, highest lowest, most least, more less, "
    "longest shortest, oldest newest, earliest latest, before after, best worst, maximum minimum, "
    "north south, east west, northern southern, eastern western, increase decrease, increased decreased, "
    "won lost, win lose, major minor, upper lower, inside outside, positive negative, "
    "early late, start end, started ended, began ended, above below, larger smaller, higher lower, "
    "older younger, longer shorter, cheapest most expensive, cheaper more expensive, ancient modern, "
    "private public, internal external, success failure, allowed forbidden, accept reject, accepted rejected"
)
ANTONYMS: Dict[str, str] = {}
for _pair in _ANTONYM_PAIRS.split(", "):
    _a, _b = _pair.split(" ", 1)
    ANTONYMS.setdefault(_a, _b)
    if " " not in _b:
        ANTONYMS.setdefault(_b, _a)


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) is not None


def antonym_negatives(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0
) -> List[SquadParagraph]:
    """For a `fraction` of answerable questions that hold a word with an
    antonym ("first", "largest", "before", ...) found in their paragraph, the
    question with that word turned into its antonym, asked of the same
    paragraph, when the paragraph never uses the antonym: "What was the first
    station?" -> "What was the last station?". The question still matches the
    answer's sentence word for word, but asks for something the paragraph does
    not say (SQuAD 2.0's second commonest written kind). Returns copies of the
    paragraphs holding only such questions."""
    if fraction <= 0:
        return []
    rng = random.Random(seed)
    out: List[SquadParagraph] = []
    for p in paragraphs:
        made = []
        for q in p.questions:
            if not q.answers or rng.random() >= fraction:
                continue
            words = [w for w in re.findall(r"[A-Za-z]+", q.question) if w.lower() in ANTONYMS]
            words = [w for w in words if _has_word(p.context, w) and not _has_word(p.context, ANTONYMS[w.lower()])
                     and not _has_word(q.question, ANTONYMS[w.lower()])]  # not "before or after"
            if not words:
                continue
            old = rng.choice(words)
            new = ANTONYMS[old.lower()]
            new = new.capitalize() if old[0].isupper() else new
            question = re.sub(rf"\b{re.escape(old)}\b", new, q.question, count=1)
            made.append(SquadQuestion(q.id + ANTONYM_SUFFIX, question, []))
        if made:
            out.append(SquadParagraph(p.title, p.context, made))
    return out


TYPE_SUFFIX = "-neg-type"
# Questions whose answer is a number or a date ...
_NUMBER_QUESTION = re.compile(
    r"^\s*(when|what year|in what year|in which year|what date|how (many|much|long|old|far|tall|big|large))\b",
    flags=re.IGNORECASE,
)
# ... and what a paragraph that could answer them holds.
_NUMBER_WORDS = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|half|once|twice|century|centuries|decade|year|years|month|"
    r"months|week|weeks|day|days|hour|hours|minute|minutes|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|spring|summer|autumn|fall|winter|today|yesterday|now|"
    r"then|recently|ago|since|until|during|later|earlier)\b",
    flags=re.IGNORECASE,
)


def answer_type_negatives(
    paragraphs: Sequence[SquadParagraph], fraction: float, seed: int = 0
) -> List[SquadParagraph]:
    """For a `fraction` of answerable questions that ask for a number or a date
    ("When ...", "How many ..."), the question asked of the paragraph of the
    same article that shares most of its words but holds no number, date or
    time word at all: on topic, yet without anything of the type asked for.
    Returns copies of the paragraphs that received such questions."""
    if fraction <= 0:
        return []
    rng = random.Random(seed)
    by_title = paragraphs_by_title(paragraphs)
    # The content words of the only paragraphs that can receive such questions.
    words = {i: _content_words(p.context) for i, p in enumerate(paragraphs) if not _NUMBER_WORDS.search(p.context)}
    extra: Dict[int, List[SquadQuestion]] = {}
    for i, p in enumerate(paragraphs):
        for q in p.questions:
            if not q.answers or not _NUMBER_QUESTION.match(q.question) or rng.random() >= fraction:
                continue
            asked = _content_words(q.question)
            pool = [j for j in by_title[p.title] if j != i and j in words]
            if not pool:
                continue
            j = max(pool, key=lambda j: (len(asked & words[j]), -j))
            if asked & words[j]:
                extra.setdefault(j, []).append(SquadQuestion(q.id + TYPE_SUFFIX, q.question, []))
    return [SquadParagraph(paragraphs[j].title, paragraphs[j].context, qs) for j, qs in sorted(extra.items())]
