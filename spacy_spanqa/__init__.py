"""spacy-spanqa: extractive question answering for spaCy pipelines."""
from .component import SpanQA, make_span_qa
from .data_classes import Answer
from .extensions import ensure_extensions
from .model import HFQuestionAnswering
from .squad import create_squad_reader, make_qa_scorer, read_squad, squad_evaluate

__version__ = "0.1.0"
__all__ = [
    "Answer",
    "HFQuestionAnswering",
    "SpanQA",
    "make_span_qa",
    "read_squad",
    "squad_evaluate",
    "create_squad_reader",
    "make_qa_scorer",
    "ensure_extensions",
]
