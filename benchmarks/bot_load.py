"""Load test of the Slack bot: a burst of concurrent @-mentions over signed HTTP.

Starts `python -m bot` in HTTP mode on free ports of 127.0.0.1, with the real
QuestionAnswerer, against a mock Slack Web API (tests/bot/mock_slack.py) in this
process; fires N app_mention events at once; measures for each the time until
the bot's HTTP acknowledgement (Slack's limit: 3 s) and until its answer
(chat.postMessage in the question's thread) reaches the mock; checks every
question is answered exactly once. Nothing leaves 127.0.0.1.

With `--replicas 2` two bot processes share one database (a SQLite file, or
with `--database postgres` a PostgreSQL server started in a temporary
directory): each mention goes to one replica and, at the same moment, Slack's
retry of it (same event id) to the other, as a load balancer or Socket Mode's
several connections would deliver them.

    python benchmarks/bot_load.py                       # example_kb index, default reader
    python benchmarks/bot_load.py --replicas 2 --database postgres
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
sys.path.insert(0, str(ROOT))  # the tests package: the mock Slack API and the PostgreSQL server

from tests.bot.mock_slack import BOT_TOKEN, SIGNING_SECRET, MockSlackAPI, app_mention, next_ts, send_event  # noqa: E402
from tests.bot.processes import PostgresServer, PostgresUnavailable, free_port  # noqa: E402

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


def build_example_index(folder: Path) -> Path:
    from spacy_spanqa.retrieval.bm25 import BM25Index

    path = folder / "example_kb.idx"
    BM25Index.build(ROOT / "spacy_spanqa" / "example_kb", path, progress=False)
    return path


def start_bot(index: Path, model: Optional[str], port: int, api: MockSlackAPI, database: str, top_k: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.url)
    command = [sys.executable, "-m", "bot", "--index", str(index), "--host", "127.0.0.1", "--port", str(port),
               "--database", database, "--top-k", str(top_k), "--log-level", "WARNING"]
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
    parser.add_argument("--replicas", type=int, default=1, choices=[1, 2], help="bot processes sharing one database")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite",
                        help="the shared database: a SQLite file, or a PostgreSQL server started for the run")
    args = parser.parse_args()

    postgres = None
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        index = args.index or build_example_index(workdir)
        if args.database == "postgres":
            try:
                postgres = PostgresServer()
            except PostgresUnavailable as reason:
                raise SystemExit(f"No PostgreSQL server: {reason}")
        database = postgres.url if postgres else str(workdir / "feedback.sqlite")
        api = MockSlackAPI()
        ports = [free_port() for _ in range(args.replicas)]
        bots = [start_bot(index, args.model, port, api, database, args.top_k) for port in ports]
        try:
            for bot, port in zip(bots, ports):
                wait_until_listening(bot, port, timeout=300)
            urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
            print(f"{args.replicas} bot process(es) listening after {time.monotonic() - started:.1f}s "
                  f"(index {index}, model {args.model or 'default'}, database {args.database})")

            # One question per replica first: the first model call pays one-off costs.
            warm = time.monotonic()
            for i, url in enumerate(urls):
                send_event(url, app_mention(QUESTIONS[0]))
                api.wait_for("chat.postMessage", i + 1, timeout=args.timeout)
            print(f"warm-up question(s) answered in {time.monotonic() - warm:.2f}s")
            warm_posts = len(api.calls_to("chat.postMessage"))

            payloads = [app_mention(QUESTIONS[i % len(QUESTIONS)], ts=next_ts()) for i in range(args.requests)]
            # Each mention to one replica; with two, its retry to the other at the same moment.
            deliveries = []
            for i, payload in enumerate(payloads):
                deliveries.append((urls[i % len(urls)], payload, {}))
                if len(urls) > 1:
                    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                    deliveries.append((urls[(i + 1) % len(urls)], payload, retry))
            barrier = threading.Barrier(len(deliveries))
            sent_at, acks = {}, []

            def fire(delivery):
                url, payload, headers = delivery
                ts = payload["event"]["ts"]
                barrier.wait()
                sent_at.setdefault(ts, time.monotonic())
                status, _, elapsed = send_event(url, payload, **headers)
                acks.append((status, elapsed))

            burst = time.monotonic()
            with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
                list(pool.map(fire, deliveries))
            wanted = set(sent_at)
            api.wait_for("chat.postMessage", warm_posts + len(wanted), timeout=args.timeout)
            time.sleep(2.0)  # any duplicate answer would arrive meanwhile
            posts = [c for c in api.calls_to("chat.postMessage") if c.args.get("thread_ts") in wanted]
        finally:
            for bot in bots:
                bot.terminate()
            for bot in bots:
                try:
                    bot.wait(10)
                except subprocess.TimeoutExpired:
                    bot.kill()
            api.close()
            if postgres:
                postgres.close()

    per_thread = Counter(c.args["thread_ts"] for c in posts)
    first_post = {}
    for call in posts:
        first_post.setdefault(call.args["thread_ts"], call.at)
    ack_times = [elapsed for _, elapsed in acks]
    answer_times = [first_post[ts] - sent_at[ts] for ts in wanted if ts in first_post]
    errors = [c for c in posts if "Sorry" in (c.args.get("text") or "") or "busy" in (c.args.get("text") or "")]
    once = sum(1 for ts in wanted if per_thread[ts] == 1)
    all_done = max(first_post.values()) - burst if first_post else float("nan")

    retries = " (each also retried at the other replica)" if args.replicas > 1 else ""
    print(f"\n{args.requests} concurrent app_mention requests{retries}, {len(acks)} deliveries")
    print(f"{'':16}{'p50':>8}{'p95':>8}{'max':>8}")
    print(f"{'ack (s)':16}{percentile(ack_times, .5):8.3f}{percentile(ack_times, .95):8.3f}{max(ack_times):8.3f}")
    if answer_times:
        print(f"{'answer (s)':16}{percentile(answer_times, .5):8.2f}{percentile(answer_times, .95):8.2f}{max(answer_times):8.2f}")
    print(f"HTTP 200 acks:         {sum(1 for s, _ in acks if s == 200)}/{len(acks)}")
    print(f"acks under {SLACK_ACK_LIMIT:.0f}s:         {sum(1 for t in ack_times if t < SLACK_ACK_LIMIT)}/{len(acks)}")
    print(f"answered exactly once: {once}/{args.requests}  (error or busy replies: {len(errors)})")
    print(f"all answered after {all_done:.1f}s: {args.requests / all_done:.1f} questions/s")
    ok = (
        once == args.requests
        and not errors
        and all(status == 200 for status, _ in acks)
        and max(ack_times) < SLACK_ACK_LIMIT
    )
    print(json.dumps({"ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
