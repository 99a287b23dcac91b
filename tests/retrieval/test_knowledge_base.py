"""Loading knowledge base folders in every format and splitting documents into passages."""
import json

import pytest

from spacy_spanqa.results import Passage
from spacy_spanqa.retrieval.documents import Document, KnowledgeBaseWarning, load_documents
from spacy_spanqa.retrieval.passages import passages_from_folder, split_passages


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer holds `text` (Helvetica), built by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def docs_by_id(folder):
    return {d.id: d for d in load_documents(folder)}


def test_text_and_markdown_files_keep_their_text(tmp_path):
    (tmp_path / "notes.txt").write_text("Plain notes about the office.\n", encoding="utf8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "guide.md").write_text("# Setup guide\n\nInstall **spaCy** first.\n", encoding="utf8")
    docs = docs_by_id(tmp_path)
    assert docs["notes.txt"].text == "Plain notes about the office.\n"
    assert docs["notes.txt"].title == "notes"
    guide = docs["sub/guide.md"]
    assert guide.title == "Setup guide" and guide.path == "sub/guide.md"
    assert "Install **spaCy** first." in guide.text


def test_html_gives_visible_text_and_title(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Help desk</title><style>p {color: red}</style></head><body>"
        "<nav>Home</nav><h1>Support</h1><p>Call <b>extension 4357</b> for help.</p>"
        "<script>var x = 1;</script><p>Second paragraph.</p></body></html>",
        encoding="utf8",
    )
    doc = docs_by_id(tmp_path)["page.html"]
    assert doc.title == "Help desk"
    assert doc.text == "Support\n\nCall extension 4357 for help.\n\nSecond paragraph."


def test_pdf_text_layer_is_read(tmp_path):
    (tmp_path / "memo.pdf").write_bytes(make_pdf("The budget is 500 euros."))
    doc = docs_by_id(tmp_path)["memo.pdf"]
    assert "The budget is 500 euros." in doc.text
    assert doc.title == "memo" and doc.metadata == {"pages": 1}


def test_jsonl_records_give_text_title_url_and_metadata(tmp_path):
    records = [
        {"id": "a", "title": "Gifts", "url": "https://x.example/gifts", "text": "Gifts up to 50 euros.", "owner": "Legal"},
        {"content": "Content field works too."},
        {"body": "So does body.", "title": "B"},
        {"summary": "no text field"},
    ]
    (tmp_path / "policies.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n", encoding="utf8")
    with pytest.warns(KnowledgeBaseWarning) as caught:
        docs = list(load_documents(tmp_path))
    assert [d.text for d in docs] == ["Gifts up to 50 euros.", "Content field works too.", "So does body."]
    assert docs[0].title == "Gifts" and docs[0].url == "https://x.example/gifts"
    assert docs[0].metadata == {"id": "a", "owner": "Legal"}
    assert docs[1].title == "policies" and docs[1].url is None
    messages = " ".join(str(w.message) for w in caught)
    assert "1 record(s) with no text" in messages and "line 5" in messages


def test_json_list_of_records(tmp_path):
    (tmp_path / "faq.json").write_text(json.dumps([{"text": "One."}, {"text": "Two.", "url": "u"}]), encoding="utf8")
    docs = list(load_documents(tmp_path))
    assert [(d.id, d.text, d.url) for d in docs] == [("faq.json:0", "One.", None), ("faq.json:1", "Two.", "u")]


def test_squad_json_gives_one_document_per_context(tmp_path):
    squad = {"version": "1.1", "data": [
        {"title": "Berlin", "paragraphs": [{"context": "Berlin is a city.", "qas": []},
                                           {"context": "It has museums.", "qas": []}]},
        {"title": "Lisbon", "paragraphs": [{"context": "Lisbon is by the sea.", "qas": []}]},
    ]}
    (tmp_path / "dev.json").write_text(json.dumps(squad), encoding="utf8")
    docs = list(load_documents(tmp_path))
    assert [(d.title, d.text) for d in docs] == [
        ("Berlin", "Berlin is a city."), ("Berlin", "It has museums."), ("Lisbon", "Lisbon is by the sea.")]
    assert len({d.id for d in docs}) == 3


def test_binary_undecodable_and_broken_files_are_skipped_with_a_warning_naming_them(tmp_path):
    (tmp_path / "good.txt").write_text("Readable text.", encoding="utf8")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin.md").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf at all")
    (tmp_path / "broken.json").write_text("{oops", encoding="utf8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf8")
    with pytest.warns(KnowledgeBaseWarning) as caught:
        docs = list(load_documents(tmp_path))
    assert [d.id for d in docs] == ["good.txt"]
    messages = "\n".join(str(w.message) for w in caught)
    for name in ("blob.txt", "latin.md", "broken.pdf", "broken.json", "image.png"):
        assert name in messages
    assert ".hidden.txt" not in messages


def test_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"folder .*nowhere does not exist"):
        list(load_documents(tmp_path / "nowhere"))


def test_folder_without_documents_lists_supported_formats(tmp_path):
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf8")
    with pytest.raises(ValueError, match=r"No documents found in .*; supported: .*\.md.*PDF"):
        list(load_documents(tmp_path))


TEXT = (
    "# Handbook\n\n"
    "New hires get 25 vacation days. Requests go through the HR portal. "
    "Managers approve requests within a week. Unused days expire in March.\n\n"
    "Remote work is allowed three days per week. Core hours are ten to three.\n"
    "The office opens at seven.\n\n\n"
    "  Salaries are paid monthly.  \n"
)


@pytest.mark.parametrize("max_words", [3, 8, 12, 20, 200])
def test_passage_offsets_are_exact(max_words):
    doc = Document("hb.md", TEXT, "Handbook", "hb.md")
    passages = split_passages(doc, max_words=max_words)
    assert passages
    for n, p in enumerate(passages):
        assert TEXT[p.start_char : p.end_char] == p.text
        assert p.id == f"hb.md#{n}" and p.title == "Handbook" and p.path == "hb.md"
        assert len(p.text.split()) <= max_words
        assert p.text == p.text.strip()


def test_consecutive_passages_in_a_paragraph_share_one_sentence():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    passages = split_passages(Document("d", text, "", "d"), max_words=6, overlap_sentences=1)
    assert [p.text for p in passages] == [
        "One two three. Four five six.", "Four five six. Seven eight nine.", "Seven eight nine. Ten eleven twelve."]
    no_overlap = split_passages(Document("d", text, "", "d"), max_words=6, overlap_sentences=0)
    assert [p.text for p in no_overlap] == ["One two three. Four five six.", "Seven eight nine. Ten eleven twelve."]


def test_paragraph_break_starts_a_passage_once_half_the_budget_is_used():
    text = "Title\n\nOne two three four five six. Seven eight.\n\nNine ten eleven."
    passages = split_passages(Document("d", text, "", "d"), max_words=12)
    # "Title" (1 word) is under half the budget and joins the next paragraph; 9 words is not.
    assert [p.text for p in passages] == ["Title\n\nOne two three four five six. Seven eight.", "Nine ten eleven."]
    # No sentence overlap across a paragraph break.
    assert "Seven" not in passages[1].text


def test_sentence_longer_than_the_budget_is_cut_by_words():
    words = [f"w{i}" for i in range(25)]
    text = " ".join(words) + "."
    passages = split_passages(Document("d", text, "", "d"), max_words=10)
    assert [len(p.text.split()) for p in passages] == [10, 10, 5]
    assert " ".join(p.text for p in passages) == text


def test_passage_round_trips_through_a_dict():
    p = Passage("f.md#0", "Text.", "T", "f.md", "https://x", 3, 8, {"owner": "HR"})
    assert Passage.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_passages_from_folder_covers_every_document(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha one. Alpha two.", encoding="utf8")
    (tmp_path / "b.md").write_text("Beta one.", encoding="utf8")
    passages = list(passages_from_folder(tmp_path, max_words=50))
    assert [p.id for p in passages] == ["a.txt#0", "b.md#0"]
