"""The pieces the torch-free reader shares with the span_qa pipe cut text exactly as before."""
from pathlib import Path

import pytest
import spacy
from spacy.attrs import IDX, LENGTH, SENT_START

from spacy_spanqa.reader.windows import encode_windows
from spacy_spanqa.sentences import SentenceSplitter

EXAMPLE_KB = Path(__file__).parents[2] / "spacy_spanqa" / "example_kb"


def test_sentence_splitter_makes_the_docs_of_a_blank_pipeline_with_a_sentencizer():
    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    splitter = SentenceSplitter("en")
    texts = [p.read_text(encoding="utf8") for p in sorted(EXAMPLE_KB.iterdir())]
    texts.append("Mail privacy@northwind.example, e.g. on Mon. 3 p.m.! Then (maybe) call... OK?")
    for want, got in zip(blank.pipe(texts), splitter.pipe(texts)):
        assert got.to_array([IDX, LENGTH, SENT_START]).tolist() == want.to_array([IDX, LENGTH, SENT_START]).tolist()


@pytest.mark.parametrize("question", ["Where was he born?", "who " * 40 + "?"])
def test_windows_from_the_tokenizers_library_are_transformers_windows(tiny_model_dir, question):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir), use_fast=True)
    contexts = ["Barack Obama was born in Hawaii. " * 6, "Short one."]
    kwargs = dict(max_seq_length=48, doc_stride=12, max_query_length=16)
    via_transformers = encode_windows(tokenizer, [question] * 2, contexts, **kwargs)
    via_tokenizers = encode_windows(tokenizer.backend_tokenizer, [question] * 2, contexts, **kwargs)
    assert via_tokenizers.input_ids == via_transformers.input_ids
    assert via_tokenizers.offsets == via_transformers.offsets
    assert via_tokenizers.pair_index == via_transformers.pair_index == [0] * (len(via_tokenizers) - 1) + [1]


def test_windows_are_what_transformers_own_call_cuts(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir), use_fast=True)
    questions, contexts = ["Where was he born?"] * 2, ["Barack Obama was born in Hawaii. " * 6, "Short one."]
    windows = encode_windows(tokenizer, questions, contexts, max_seq_length=48, doc_stride=12)
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=48, stride=12,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    assert windows.input_ids == enc["input_ids"] and windows.token_type_ids == enc["token_type_ids"]
    assert windows.pair_index == list(enc["overflow_to_sample_mapping"])
    assert windows.offsets == [[tuple(o) if s == 1 else None for o, s in zip(offsets, enc.sequence_ids(w))]
                               for w, offsets in enumerate(enc["offset_mapping"])]


def test_boundary_cache_gives_back_what_spacy_computed(tmp_path):
    from spacy_spanqa.reader.boundaries import answer_boundaries
    from spacy_spanqa.reader.boundary_cache import BoundaryCache

    texts = ["Mail privacy@northwind.example today. Then call.", "", "One sentence only", "Mail privacy@northwind.example today. Then call."]
    first = BoundaryCache(tmp_path / "b.sqlite").boundaries(texts, "en")
    again = BoundaryCache(tmp_path / "b.sqlite").boundaries(texts, "en")  # read back from the file
    for text, a, b in zip(texts, first, again):
        want = answer_boundaries(text, "en")
        for got in (a, b):
            assert got.token_starts.tolist() == want.token_starts.tolist()
            assert got.token_ends.tolist() == want.token_ends.tolist()
            assert got.sentence_starts.tolist() == want.sentence_starts.tolist()
