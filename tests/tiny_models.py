"""Tiny BERT QA models built in code (random weights, small vocab): no Hub, no download."""
import string
from pathlib import Path


def build_tiny_bert(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 64-wide BERT QA model with a character-level vocab."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

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


def make_nlp(model_dir, **cfg):
    """A blank English pipeline with span_qa on the model in `model_dir`, initialised."""
    import spacy

    import spacy_spanqa.reader.component  # noqa: F401  (registers the factory when not pip-installed)

    nlp = spacy.blank("en")
    nlp.add_pipe("span_qa", config={"model": {"name": str(model_dir)}, **cfg})
    nlp.initialize()
    return nlp
