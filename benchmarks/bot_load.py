"""Load test of the Slack bot: a burst of concurrent @-mentions over signed HTTP.

Starts `python -m bot` in HTTP mode on a free port of 127.0.0.1, with the real
QuestionAnswerer, against a mock Slack Web API (tests/bot_helpers.py) in this
process; fires N app_mention events at once; measures for each the time until
the bot's HTTP acknowledgement (Slack's limit: 3 s) and until its answer
(chat.postMessage in the question's thread) reaches the mock; checks every
question is answered exactly once. Nothing leaves 127.0.0.1.

    python benchmarks/bot_load.py                       # example_kb index, default reader
    python benchmarks/bot_load.py --index handbook.idx --model training/model-best -n 50
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bot_helpers import BOT_TOKEN, SIGNING_SECRET, MockSlackAPI, app_mention, next_ts, send_event  # noqa: E402

SLACK_ACK_LIMIT = 3.0
QUESTIONS = [
    "How many vacation days do new hires get?",
    "How many paid sick days does every employee have?",
    "How long is parental leave?",
    "How many hours is the standard working week?",
    "What are the core working hours?",
    "How many days per week can employees work from home?",
    "When are salaries paid?",
    "Who is the head of the People team?",
    "What is the extension of the IT help desk?",
    "How early should vacation requests be entered?",
]


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_example_index(folder: Path) -> Path:
    from spacy_spanqa.bm25 import BM25Index

    path = folder / "example_kb.idx"
    BM25Index.build(ROOT / "spacy_spanqa" / "example_kb", path, progress=False)
    return path


def start_bot(index: Path, model: Optional[str], port: int, api: MockSlackAPI, workdir: Path, top_k: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.url)
    command = [sys.executable, "-m", "bot", "--index", str(index), "--host", "127.0.0.1", "--port", str(port),
               "--feedback-db", str(workdir / "feedback.sqlite"), "--top-k", str(top_k), "--log-level", "WARNING"]
    if model:
        command += ["--model", model]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_listening(process: subprocess.Popen, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The bot exited with code {process.returncode}:\n{process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The bot did not listen on port {port} within {timeout:.0f}s.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="BM25 index (default: build one of spacy_spanqa/example_kb)")
    parser.add_argument("--model", help="reader for the bot's --model (default: the bot's default)")
    parser.add_argument("-n", "--requests", type=int, default=50)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for all answers")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        index = args.index or build_example_index(workdir)
        api = MockSlackAPI()
        port = free_port()
        bot = start_bot(index, args.model, port, api, workdir, args.top_k)
        try:
            wait_until_listening(bot, port, timeout=300)
            url = f"http://127.0.0.1:{port}/slack/events"
            print(f"bot listening after {time.monotonic() - started:.1f}s (index {index}, model {args.model or 'default'})")

            # One question first: the first model call pays one-off costs.
            warm = time.monotonic()
            send_event(url, app_mention(QUESTIONS[0]))
            api.wait_for("chat.postMessage", timeout=args.timeout)
            print(f"warm-up question answered in {time.monotonic() - warm:.2f}s")
            warm_posts = len(api.calls_to("chat.postMessage"))

            payloads = [app_mention(QUESTIONS[i % len(QUESTIONS)], ts=next_ts()) for i in range(args.requests)]
            barrier = threading.Barrier(args.requests)
            sent_at, acks = {}, {}

            def fire(payload):
                ts = payload["event"]["ts"]
                barrier.wait()
                sent_at[ts] = time.monotonic()
                status, _, elapsed = send_event(url, payload)
                acks[ts] = (status, elapsed)

            burst = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                list(pool.map(fire, payloads))
            wanted = set(sent_at)
            api.wait_for("chat.postMessage", warm_posts + len(wanted), timeout=args.timeout)
            time.sleep(2.0)  # any duplicate answer would arrive meanwhile
            posts = [c for c in api.calls_to("chat.postMessage") if c.args.get("thread_ts") in wanted]
        finally:
            bot.terminate()
            try:
                bot.wait(10)
            except subprocess.TimeoutExpired:
                bot.kill()
            api.close()

    per_thread = Counter(c.args["thread_ts"] for c in posts)
    first_post = {}
    for call in posts:
        first_post.setdefault(call.args["thread_ts"], call.at)
    ack_times = [elapsed for _, elapsed in acks.values()]
    answer_times = [first_post[ts] - sent_at[ts] for ts in wanted if ts in first_post]
    errors = [c for c in posts if "Sorry" in (c.args.get("text") or "") or "busy" in (c.args.get("text") or "")]
    once = sum(1 for ts in wanted if per_thread[ts] == 1)
    all_done = max(first_post.values()) - burst if first_post else float("nan")

    print(f"\n{args.requests} concurrent app_mention requests")
    print(f"{'':16}{'p50':>8}{'p95':>8}{'max':>8}")
    print(f"{'ack (s)':16}{percentile(ack_times, .5):8.3f}{percentile(ack_times, .95):8.3f}{max(ack_times):8.3f}")
    if answer_times:
        print(f"{'answer (s)':16}{percentile(answer_times, .5):8.2f}{percentile(answer_times, .95):8.2f}{max(answer_times):8.2f}")
    print(f"HTTP 200 acks:         {sum(1 for s, _ in acks.values() if s == 200)}/{args.requests}")
    print(f"acks under {SLACK_ACK_LIMIT:.0f}s:         {sum(1 for t in ack_times if t < SLACK_ACK_LIMIT)}/{args.requests}")
    print(f"answered exactly once: {once}/{args.requests}  (error or busy replies: {len(errors)})")
    print(f"all answered after {all_done:.1f}s: {args.requests / all_done:.1f} questions/s")
    ok = (
        once == args.requests
        and not errors
        and all(status == 200 for status, _ in acks.values())
        and max(ack_times) < SLACK_ACK_LIMIT
    )
    print(json.dumps({"ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
