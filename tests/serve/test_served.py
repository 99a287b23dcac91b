"""`spanqa serve` as a user runs it: the shipped reader over the example
knowledge base on 127.0.0.1, asked over HTTP and from headless Chromium.

Screenshots go to a folder under the test's tmp dir and, when
SPANQA_SCREENSHOTS=DIR is set, to DIR as well (web.png, web-phone.png, insights.png).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serve.running import request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_KB = ROOT / "spacy_spanqa" / "example_kb"
VACATION = "How many vacation days do employees get?"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`python -m spacy_spanqa.cli serve` with the shipped reader; yields its URL."""
    pytest.importorskip("bm25s")
    from spacy_spanqa.retrieval.bm25 import BM25Index

    folder = tmp_path_factory.mktemp("served")
    BM25Index.build(EXAMPLE_KB, folder / "handbook.idx", progress=False)
    port = free_port()
    log = open(folder / "server.log", "w+")
    command = [sys.executable, "-m", "spacy_spanqa.cli", "serve", "--index", str(folder / "handbook.idx"),
               "--top-k", "3", "--port", str(port), "--log-level", "warning"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPANQA_")}
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # loading torch and the reader, on a busy machine
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"spanqa serve exited with {process.returncode}: {log.read()[-2000:]}")
            try:
                if request(url + "/healthz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("spanqa serve did not answer /healthz within 300 s.")
            time.sleep(0.5)
        yield {"url": url, "database": folder / "feedback.sqlite"}
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_a_real_answer_round_trips_with_its_span_source_and_feedback(served):
    url = served["url"]
    health = request(url + "/healthz")[2]
    assert health["documents"] == len(list(EXAMPLE_KB.iterdir()))
    status, _, body = request(url + "/ask", "POST", {"question": VACATION})
    assert status == 200 and body["answered"], body
    answer = body["answer"]
    assert answer["passage_text"][answer["start_char"]:answer["end_char"]] == answer["text"]
    assert "25" in answer["text"]
    assert (EXAMPLE_KB / answer["source"]["path"]).is_file()
    assert 0 < answer["score"] < 1 and answer["confidence"] in ("high", "medium", "low")
    status, _, saved = request(url + "/feedback/vote", "POST",
                               {"answer_id": body["answer_id"], "vote": "not_helpful", "user": "api-test"})
    assert status == 200 and saved["saved"] == "Recorded your vote: not helpful."
    status, _, batch = request(url + "/ask", "POST", {"questions": [VACATION, "What is the capital of Mongolia?"]})
    assert status == 200 and [r["question"] for r in batch["results"]] == [VACATION, "What is the capital of Mongolia?"]
    assert batch["results"][0]["answer"]["text"] == answer["text"]  # the same answer in a batch
    unknown = batch["results"][1]
    assert not unknown["answered"] and unknown["closest_sources"]


def _browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test drives Chromium with playwright")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium); the browser test needs it.")
    return playwright_api, chromium


def _screenshot(page, tmp_path: Path, name: str) -> None:
    folders = [tmp_path / "screenshots"] + ([Path(os.environ["SPANQA_SCREENSHOTS"])] if os.environ.get("SPANQA_SCREENSHOTS") else [])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=True)


def test_ask_see_the_highlighted_answer_vote_and_see_the_vote_in_insights(served, tmp_path):
    playwright_api, chromium = _browser()
    url = served["url"]
    helpful_before = request(url + "/insights.json")[2]["votes"]["helpful"]
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(url + "/")
            page.locator("h1").click()  # away from the box, then back with its shortcut
            page.keyboard.press("/")
            page.keyboard.type(VACATION)
            page.keyboard.press("Enter")
            mark = page.locator("#result mark")
            mark.wait_for(timeout=60_000)
            answer = page.locator("#result-heading").inner_text()
            assert "25" in answer and mark.inner_text() == answer
            assert "confidence (" in page.locator("#result .confidence").inner_text()
            assert page.locator("form.correction").is_hidden()
            _screenshot(page, tmp_path, "web.png")
            page.get_by_role("button", name="Helpful", exact=True).click()
            page.get_by_text("Recorded your vote: helpful.").wait_for(timeout=30_000)
            page.get_by_role("tab", name="Insights").click()
            votes = page.locator('[data-testid="votes-helpful"]')
            votes.wait_for(timeout=30_000)
            assert votes.inner_text() == str(helpful_before + 1)
            assert page.locator("#insights-body svg").count() == 4
            _screenshot(page, tmp_path, "insights.png")
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            phone.goto(url + "/")
            phone.fill("#question", "What is the capital of Mongolia?")
            phone.click("#ask-button")
            phone.locator("#result-heading").wait_for(timeout=60_000)
            assert phone.locator("#result-heading").inner_text() == "I don't know"
            _screenshot(phone, tmp_path, "web-phone.png")
        finally:
            browser.close()
    assert (tmp_path / "screenshots" / "web.png").stat().st_size > 10_000
