"""Windowing, gold targets and decoding agree on character offsets."""
import numpy
import pytest

from spacy_spanqa.reader.decoding import best_span_in_window, decode_spans, span_score
from spacy_spanqa.reader.windows import encode_windows, length_sorted_batches, pad_batch

CONTEXTS = [
    "Barack Obama was born in Hawaii on August 4, 1961. " * 6,  # several windows
    "Zürich  is\tthe largest   city in Switzerland;\u00a0its café culture is famous.",
    "The Eiffel Tower, in Paris, was completed in 1889 for the Exposition Universelle.",
]


def _answers(context):
    # every word of the context, so some answers sit at window edges
    out, pos = [], 0
    for word in context.split():
        start = context.index(word, pos)
        out.append((start, start + len(word)))
        pos = start + len(word)
    return out


def _peaked_logits(length, start, end):
    s = numpy.full(length, -10.0, dtype="float32")
    e = numpy.full(length, -10.0, dtype="float32")
    s[start], e[end] = 10.0, 10.0
    return s, e


@pytest.mark.parametrize("context", CONTEXTS)
def test_gold_targets_decode_back_to_the_same_characters(tiny_nlp, context):
    tokenizer = tiny_nlp.get_pipe("span_qa").model.shims[0]._hfmodel.tokenizer
    answers = _answers(context)
    windows = encode_windows(
        tokenizer, ["where?"] * len(answers), [context] * len(answers),
        max_seq_length=48, doc_stride=12, answers=answers,
    )
    assert max(len(ids) for ids in windows.input_ids) <= 48
    found_in_some_window = set()
    for w, (start_tok, end_tok) in enumerate(windows.labels):
        if (start_tok, end_tok) == (0, 0):
            continue
        s, e = _peaked_logits(len(windows.input_ids[w]), start_tok, end_tok)
        margin, start_char, end_char = best_span_in_window(s, e, windows.offsets[w], 20, 30)
        assert (start_char, end_char) == answers[windows.pair_index[w]]
        assert margin > 0
        found_in_some_window.add(windows.pair_index[w])
    # every answer is wholly inside at least one window
    assert found_in_some_window == set(range(len(answers)))


def test_windows_cover_every_context_character(tiny_nlp):
    tokenizer = tiny_nlp.get_pipe("span_qa").model.shims[0]._hfmodel.tokenizer
    context = CONTEXTS[0]
    windows = encode_windows(tokenizer, ["q"], [context], max_seq_length=32, doc_stride=8)
    assert len(windows) > 3
    covered = set()
    for offs in windows.offsets:
        for o in offs:
            if o is not None:
                covered.update(range(o[0], o[1]))
    assert covered == {i for i, c in enumerate(context) if not c.isspace()}


def test_null_logits_mean_no_answer():
    offsets = [None, (0, 3), (4, 9), None]
    s = numpy.array([5.0, 1.0, 0.0, -9.0])
    e = numpy.array([5.0, 0.0, 1.0, -9.0])
    margin, start, end = best_span_in_window(s, e, offsets, 20, 30)
    assert (start, end) == (0, 9)
    assert margin == pytest.approx(2.0 - 10.0)
    assert span_score(margin) < 0.5


def test_decoder_respects_max_answer_length_and_order():
    offsets = [None] + [(i * 2, i * 2 + 1) for i in range(10)]
    s = numpy.zeros(11)
    e = numpy.zeros(11)
    s[8], e[2] = 9.0, 9.0  # end before start: invalid
    s[3], e[9] = 5.0, 5.0  # 7 tokens long
    best = best_span_in_window(s, e, offsets, 20, max_answer_length=3)
    assert best is not None
    _, start, end = best
    assert end >= start and (end - start) <= 3 * 2


def test_best_window_wins_across_windows():
    offsets = [[None, (0, 1), (2, 3)], [None, (2, 3), (4, 5)]]
    starts = [numpy.array([0.0, 1.0, 0.0]), numpy.array([0.0, 0.0, 4.0])]
    ends = [numpy.array([0.0, 1.0, 0.0]), numpy.array([0.0, 0.0, 4.0])]
    (best,) = decode_spans(starts, ends, offsets, [0, 0], 1)
    assert best[1:] == (4, 5)


def test_batches_are_length_sorted_and_padded_to_their_longest(tiny_nlp):
    tokenizer = tiny_nlp.get_pipe("span_qa").model.shims[0]._hfmodel.tokenizer
    contexts = ["a b", "a b c d e f g h i j k l", "a", "a b c d e f"]
    windows = encode_windows(tokenizer, ["q"] * 4, contexts, max_seq_length=64, doc_stride=8)
    batches = length_sorted_batches(windows, 2)
    lengths = [len(windows.input_ids[i]) for b in batches for i in b]
    assert lengths == sorted(lengths)
    batch = pad_batch(windows, batches[0], 0)
    assert batch["input_ids"].shape[1] == max(len(windows.input_ids[i]) for i in batches[0])


# Text whose spaCy tokens span several subword tokens: e-mails, URLs, decimals, hyphenated words.
TOKENS_TEXT = (
    "Write to privacy@northwind.example for data requests. The portal is https://hr.northwind.example/leave today. "
    "The rate rose to 3.75 percent. Our well-known office-wide policy applies."
)


def _whole_token_span(boundaries, start, end):
    return start in set(boundaries.token_starts.tolist()) and end in set(boundaries.token_ends.tolist())


def test_decoding_stops_only_at_whole_spacy_tokens(tiny_nlp):
    from spacy_spanqa.reader.boundaries import answer_boundaries

    tokenizer = tiny_nlp.get_pipe("span_qa").model.shims[0]._hfmodel.tokenizer
    boundaries = answer_boundaries(TOKENS_TEXT)
    for word in ("privacy@northwind.example", "https://hr.northwind.example/leave", "3.75", "well-known", "office-wide"):
        start = TOKENS_TEXT.index(word)
        windows = encode_windows(tokenizer, ["q"], [TOKENS_TEXT], max_seq_length=256, doc_stride=64)
        offsets = windows.offsets[0]
        pieces = [i for i, o in enumerate(offsets) if o and start <= o[0] and o[1] <= start + len(word)]
        assert len(pieces) > 2, word  # the model sees several pieces of the one spaCy token
        # The logits like best to stop inside the token (after its second piece), less at its end ...
        s, e = _peaked_logits(len(offsets), pieces[0], pieces[1])
        e[pieces[-1]] = 5.0
        free = best_span_in_window(s, e, offsets, 20, 64)
        assert free.end_char < start + len(word)
        # ... whole-token decoding answers the whole token.
        whole = best_span_in_window(s, e, offsets, 20, 64, boundaries)
        assert TOKENS_TEXT[whole.start_char : whole.end_char] == word
        assert whole.margin < free.margin  # the score is the whole span's own


def test_answers_stay_inside_one_sentence():
    from spacy_spanqa.reader.boundaries import answer_boundaries

    text = "Anna Schmidt leads the finance team. Dara Okoye leads the legal team."
    offsets = [None] + [(m.start(), m.end()) for m in __import__("re").finditer(r"\w+|\.", text)] + [None]
    anna, okoye = 1, next(i for i, o in enumerate(offsets) if o and text[o[0] : o[1]] == "Okoye")
    s, e = _peaked_logits(len(offsets), anna, okoye)  # the span the logits like best crosses a sentence
    crossing = best_span_in_window(s, e, offsets, 20, 30)
    assert text[crossing.start_char : crossing.end_char] == "Anna Schmidt leads the finance team. Dara Okoye"
    inside = best_span_in_window(s, e, offsets, 20, 30, answer_boundaries(text))
    assert "." not in text[inside.start_char : inside.end_char].rstrip(".")


@pytest.mark.parametrize("max_seq_length, doc_stride", [(32, 8), (48, 12)])
def test_every_answer_is_whole_tokens_also_at_window_edges(tiny_model_dir, max_seq_length, doc_stride):
    """Windows cut spaCy tokens at their edges; answers never stop inside one, in any runtime."""
    from spacy_spanqa.reader.boundaries import answer_boundaries
    from tests.tiny_models import make_nlp

    nlp = make_nlp(tiny_model_dir, max_seq_length=max_seq_length, doc_stride=doc_stride, no_answer_threshold=0.0)
    reader = nlp.get_pipe("span_qa")
    questions = ["Where do I write?", "What is the portal?", "What is the rate?", "Which policy?", "Who?"]
    boundaries = answer_boundaries(TOKENS_TEXT)
    for runtime in ("torch", "int8"):
        reader.use_runtime(runtime)
        answers = reader.answer_pairs([(TOKENS_TEXT, q) for q in questions])
        for a in answers:
            assert not a.no_answer
            assert _whole_token_span(boundaries, a.start_char, a.end_char), (runtime, a.text)
        doc = nlp.make_doc(TOKENS_TEXT)
        doc._.qa_questions = questions
        doc = reader(doc)
        for a in doc._.qa_answers:
            assert a.span is not None and a.span.text == a.text  # the Span is exactly the answer
