"""Load test of `spanqa serve`: N concurrent clients asking over HTTP, on loopback only.

Starts `spanqa serve` on a free port of 127.0.0.1 with the real QuestionAnswerer
(the example knowledge base and the shipped reader unless given), a fresh
database in a temporary folder; N clients (threads) start together and each
asks `--per-client` questions one after another. Prints p50/p95/max latency,
throughput, that every request got an answer (HTTP 200 with an answer_id, and
a row in the database), and the CPU it ran on.

    python benchmarks/serve_load.py                      # 50 clients x 4 questions
    python benchmarks/serve_load.py --clients 50 --per-client 4 --batch-size 1
    python benchmarks/serve_load.py --index handbook.idx --model training/model-best
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_load import QUESTIONS, build_example_index, percentile  # noqa: E402
from tests.bot.processes import free_port  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402


def ask(url: str, question: str) -> Tuple[int, float, Optional[str]]:
    """(HTTP status, seconds, answer_id) for one POST /ask."""
    data = json.dumps({"question": question, "user": "load-test"}).encode()
    request = urllib.request.Request(url + "/ask", data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            body = json.loads(response.read())
            return response.status, time.perf_counter() - started, body.get("answer_id")
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started, None


def start_server(index: Path, model: Optional[str], port: int, database: Path, batch_size: int, top_k: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "spacy_spanqa.cli", "serve", "--index", str(index), "--port", str(port),
               "--database", str(database), "--batch-size", str(batch_size), "--top-k", str(top_k), "--log-level", "warning"]
    if model:
        command += ["--model", model]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPANQA_")}
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"spanqa serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"spanqa serve did not answer /healthz within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="Index folder (default: the example knowledge base, indexed here).")
    parser.add_argument("--model", help="Reader (default: the shipped one).")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=4, help="Questions each client asks, one after another.")
    parser.add_argument("--batch-size", type=int, default=8, help="spanqa serve --batch-size.")
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="spanqa-serve-load-") as tmp:
        index = args.index or build_example_index(Path(tmp))
        database = Path(tmp) / "answers.sqlite"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        server = start_server(index, args.model, port, database, args.batch_size, args.top_k)
        try:
            wait_until_healthy(server, url, timeout=600)
            print(f"spanqa serve healthy after {time.monotonic() - started:.1f}s")
            warm = ask(url, QUESTIONS[0])
            print(f"warm-up question answered in {warm[1]:.2f}s (HTTP {warm[0]})")
            start = threading.Barrier(args.clients)

            def client(n: int) -> List[Tuple[int, float, Optional[str]]]:
                start.wait()
                return [ask(url, QUESTIONS[(n + i) % len(QUESTIONS)]) for i in range(args.per_client)]

            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                results = [r for rs in pool.map(client, range(args.clients)) for r in rs]
            wall = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(60)
        with sqlite3.connect(database) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM answers")}
    latencies = [seconds for _, seconds, _ in results]
    ok = [r for r in results if r[0] == 200 and r[2]]
    recorded = sum(1 for _, _, answer_id in ok if answer_id in stored)
    print(f"\nCPU: {cpu_model()} ({os.cpu_count()} logical CPUs visible)")
    print(f"{args.clients} concurrent clients x {args.per_client} questions = {len(results)} requests, "
          f"--batch-size {args.batch_size}, --top-k {args.top_k}")
    print(f"{'':16}{'p50':>8}{'p95':>8}{'max':>8}")
    print(f"{'latency (s)':16}{percentile(latencies, .5):8.2f}{percentile(latencies, .95):8.2f}{max(latencies):8.2f}")
    print(f"throughput:      {len(results) / wall:.1f} questions/s ({wall:.1f}s for all)")
    print(f"answered:        {len(ok)}/{len(results)} HTTP 200 with an answer_id; {recorded} recorded in the database")
    every = len(ok) == len(results) == recorded
    print(json.dumps({"ok": every, "p50_s": round(percentile(latencies, .5), 3), "p95_s": round(percentile(latencies, .95), 3),
                      "questions_per_s": round(len(results) / wall, 2)}))
    return 0 if every else 1


if __name__ == "__main__":
    raise SystemExit(main())
