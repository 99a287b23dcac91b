"""A synced Milvus knowledge base ranks as a fresh build of the same files (issue 18), on a knowledge base
of ~3,900 passages cut from SQuADShifts new_wiki paragraphs, in Milvus Lite and on a local Milvus server."""
import json
import random
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from spacy_spanqa.retrieval import sync_index  # noqa: E402
from spacy_spanqa.retrieval.settings import MilvusSettings  # noqa: E402
from .test_milvus import milvus_server  # noqa: E402,F401  (the server fixture)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "squadshifts" / "new_wiki_v1.0.json"
PER_FILE = 7  # paragraphs per file: syncs are per file
SETTINGS = MilvusSettings(max_words=80)  # shorter passages than the default: ~3,900 of them from 1,581 paragraphs
SYNCS = 10
QUESTIONS = 300
LAUNCH = "The launch code of the Zephyr probe is 4417."

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"needs the SQuADShifts data at {DATA}")


def write_file(path: Path, paragraphs) -> None:
    path.write_text("".join(json.dumps({"text": p["context"], "title": p["title"]}) + "\n" for p in paragraphs), encoding="utf8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The knowledge base folder (files of PER_FILE paragraphs), and SYNCS groups of held-out paragraphs to sync in."""
    raw = json.loads(DATA.read_text(encoding="utf8"))
    paragraphs = [{"title": a["title"], **p} for a in raw["data"] for p in a["paragraphs"]]
    random.Random(18).shuffle(paragraphs)
    held, base = paragraphs[: SYNCS * PER_FILE], paragraphs[SYNCS * PER_FILE :]
    folder = tmp_path_factory.mktemp("new_wiki")
    for n, start in enumerate(range(0, len(base), PER_FILE)):
        write_file(folder / f"part{n:03d}.jsonl", base[start : start + PER_FILE])
    groups = [held[start : start + PER_FILE] for start in range(0, len(held), PER_FILE)]
    return folder, groups


def built(corpus, index, tmp_path_factory):
    """A copy of the knowledge base folder and its index, built once."""
    folder = tmp_path_factory.mktemp("kb")
    shutil.copytree(corpus[0], folder, dirs_exist_ok=True)
    return folder, sync_index(folder, index, settings=SETTINGS)


@pytest.fixture(scope="module")
def lite(corpus, tmp_path_factory):
    folder, retriever = built(corpus, tmp_path_factory.mktemp("lite") / "kb.db", tmp_path_factory)
    yield folder, retriever
    retriever.close()


@pytest.fixture(scope="module")
def server(corpus, milvus_server, tmp_path_factory):  # noqa: F811
    return built(corpus, milvus_server, tmp_path_factory)


def recall_at_5(retriever, paragraphs) -> float:
    """Share of the paragraphs' first QUESTIONS questions with a passage of their own paragraph in the top 5."""
    items = [(q["question"], p["context"]) for p in paragraphs for q in p["qas"]][:QUESTIONS]
    assert len(items) == QUESTIONS
    found = retriever.search_many([q for q, _ in items], 5)
    return sum(any(passage.text in context for passage, _ in hits) for (_, context), hits in zip(items, found)) / len(items)


@pytest.mark.parametrize("kb", ["lite", "server"])
def test_file_added_by_a_sync_is_the_top_passage_for_its_rare_words(kb, request):
    folder, retriever = request.getfixturevalue(kb)
    assert len(retriever) >= 3_000
    (folder / "launch.txt").write_text(LAUNCH, encoding="utf8")
    report = retriever.sync(folder)
    assert report.read == ["launch.txt"] and not report.full_rebuild
    (passage, score), *_ = retriever.search("What is the launch code of the Zephyr probe?")
    assert passage.path == "launch.txt" and passage.text == LAUNCH
    assert retriever.search("zephyr")[0][1] > 5  # a rare word's IDF over ~3,900 passages, not over one segment's few rows


def test_ten_syncs_rank_as_a_fresh_build(lite, corpus, tmp_path_factory):
    folder, retriever = lite
    _, groups = corpus
    existing = sorted(folder.glob("part*.jsonl"))
    for n, group in enumerate(groups):  # even syncs add a file, odd ones change one
        path = folder / f"added{n}.jsonl" if n % 2 == 0 else existing[n]
        write_file(path, group)
        assert retriever.sync(folder).read == [path.name]
    fresh = sync_index(folder, tmp_path_factory.mktemp("fresh") / "kb.db", settings=SETTINGS)
    try:
        held = [p for group in groups for p in group]
        synced_recall, fresh_recall = recall_at_5(retriever, held), recall_at_5(fresh, held)
        assert abs(synced_recall - fresh_recall) <= 0.01 and fresh_recall > 0.7, (synced_recall, fresh_recall)
        assert len(retriever) == len(fresh)
    finally:
        fresh.close()
