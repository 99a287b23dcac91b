"""Result types: importable without spaCy or torch, the same objects under their old names, the same JSON."""
import subprocess
import sys

from spacy_spanqa.results import Answer, Passage, QAResult, RetrievedPassage


def test_result_types_import_neither_spacy_nor_torch():
    code = (
        "import sys\n"
        "from spacy_spanqa.results import Answer, Passage, QAResult\n"
        "loaded = [m for m in ('spacy', 'torch', 'thinc', 'transformers') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_old_import_paths_give_the_same_classes():
    import spacy_spanqa
    from spacy_spanqa import qa

    assert qa.QAResult is QAResult and qa.RetrievedPassage is RetrievedPassage
    assert spacy_spanqa.Answer is Answer and spacy_spanqa.Passage is Passage and spacy_spanqa.QAResult is QAResult


def test_passages_stored_before_document_id_get_it_from_their_id():
    old = {"id": "policies.jsonl:3#2", "text": "t", "title": "", "path": "policies.jsonl", "url": None,
           "start_char": 0, "end_char": 1}
    assert Passage.from_dict(old).document_id == "policies.jsonl:3"


def test_result_json_keeps_its_fields():
    passage = Passage("a.md#0", "New hires get 25 days.", "Leave", "a.md", None, 0, 22)
    answer = Answer("How many days?", "25 days", 0.91234, 14, 21, question_id="q1", passage=passage)
    assert answer.to_dict() == {"id": "q1", "question": "How many days?", "answer": "25 days", "score": 0.9123,
                                "start_char": 14, "end_char": 21}
    result = QAResult("How many days?", answer, [], [RetrievedPassage(passage, 3.21)]).to_dict()
    assert result["source"] == {"title": "Leave", "path": "a.md", "url": None}
    assert result["passage"]["answer_start"] == 14 and result["passages"][0]["bm25_score"] == 3.21
    assert Passage.from_dict(passage.to_dict()) == passage
