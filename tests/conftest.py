"""Fixtures: tiny BERT QA models built in code (random weights, small vocab)."""
import string
from pathlib import Path

import pytest
import spacy
import torch
from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

import spacy_spanqa.reader.component  # noqa: F401  (registers functions when not pip-installed)


def build_tiny_bert(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 64-wide BERT QA model with a character-level vocab."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    words = ["the", "was", "born", "in", "where", "who", "what", "when", "is", "of"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + chars + ["##" + c for c in chars]
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    tokenizer = BertTokenizerFast(str(path / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertForQuestionAnswering(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def make_nlp(model_dir, **cfg):
    nlp = spacy.blank("en")
    config = {"model": {"name": str(model_dir)}, **cfg}
    nlp.add_pipe("span_qa", config=config)
    nlp.initialize()
    return nlp


@pytest.fixture
def tiny_nlp(tiny_model_dir):
    return make_nlp(tiny_model_dir, max_seq_length=64, doc_stride=16)


@pytest.fixture
def api():
    """A mock Slack Web API on 127.0.0.1 that records the calls it receives."""
    from bot_helpers import MockSlackAPI

    mock = MockSlackAPI()
    yield mock
    mock.close()
