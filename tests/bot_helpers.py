"""Test doubles for the Slack bot: a mock Slack Web API on 127.0.0.1, signed
Events API / slash command / interactivity requests, and a fake answerer
with the `QuestionAnswerer` interface. Shared by tests/test_bot*.py and
benchmarks/bot_load.py."""
import argparse
import glob
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-1111-2222-testtoken"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0001"
USER_ID = "UPERSON1"

# ---------------------------------------------------------------------------
# Mock Slack Web API


@dataclass
class APICall:
    method: str  # e.g. "chat.postMessage"; "response_url" for response_url posts
    args: Dict[str, Any]
    at: float


class MockSlackAPI:
    """Answers Web API calls with `{"ok": true, ...}` and records them.

    `fail(method, error)` makes the next call(s) of a method answer
    `{"ok": false, "error": error}`; `rate_limit(method)` makes the next one
    answer HTTP 429 with a Retry-After header, as Slack does. Paths under
    /response/ stand in for slash command and interactivity response_urls."""

    def __init__(self) -> None:
        self.calls: List[APICall] = []
        self._failures: Dict[str, List[str]] = {}
        self._rate_limits: Dict[str, List[int]] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                path = urllib.parse.urlparse(self.path).path
                status, body = mock._handle(path, raw, self.headers.get("Content-Type", ""))
                data = body.encode("utf-8")
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", str(mock._last_retry_after))
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}response/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, error: str, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * times)

    def rate_limit(self, method: str, retry_after: int = 0, times: int = 1) -> None:
        with self._lock:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def _handle(self, path: str, raw: str, content_type: str) -> Tuple[int, str]:
        if raw.startswith("{"):
            args = json.loads(raw)
        else:
            args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        method = "response_url" if path.startswith("/response/") else path.strip("/")
        with self._lock:
            self.calls.append(APICall(method, args, time.monotonic()))
            limits = self._rate_limits.get(method)
            if limits:
                self._last_retry_after = limits.pop(0)
                self.rate_limited = getattr(self, "rate_limited", 0) + 1
                self._lock.notify_all()
                return 429, json.dumps({"ok": False, "error": "ratelimited"})
            failures = self._failures.get(method)
            error = failures.pop(0) if failures else None
            self._lock.notify_all()
        if method == "response_url":
            return 200, "ok"
        if error:
            return 200, json.dumps({"ok": False, "error": error})
        return 200, json.dumps(self._ok(method, args))

    def _ok(self, method: str, args: Dict[str, Any]) -> Dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "handbook-qa",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        return {"ok": True}

    # -- assertions -----------------------------------------------------------

    def calls_to(self, method: str) -> List[APICall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0, where=None) -> List[APICall]:
        """The calls to `method` (matching `where(args)`) once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self.calls if c.method == method and (where is None or where(c.args))]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {method} call(s) within {timeout}s, got {len(found)}; "
                        f"all calls: {[c.method for c in self.calls]}"
                    )
                self._lock.wait(remaining)


# ---------------------------------------------------------------------------
# Signed requests to the bot


def signed_headers(body: str, secret: str = SIGNING_SECRET, timestamp: Optional[int] = None, **extra: str) -> Dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}
    headers.update(extra)
    return headers


def post(url: str, body: str, headers: Dict[str, str], content_type: str) -> Tuple[int, str, float]:
    """POST to the bot; returns (status, body, seconds until the response)."""
    request = urllib.request.Request(
        url, data=body.encode("utf-8"), headers={**headers, "Content-Type": content_type}, method="POST"
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8"), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), time.monotonic() - started


_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def next_ts() -> str:
    return f"1699999999.{next(_message_ts):06d}"


def event_callback(event: Dict[str, Any], event_id: Optional[str] = None) -> Dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0001",
        "event": {"event_ts": event.get("ts"), **event},
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def app_mention(text: str, channel: str = "C0001", user: str = USER_ID, thread_ts: Optional[str] = None, ts: Optional[str] = None, **kw) -> Dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts or next_ts(), "channel": channel}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, **kw)


def message(text: str, channel: str = "D0001", channel_type: str = "im", user: Optional[str] = USER_ID, thread_ts: Optional[str] = None, ts: Optional[str] = None, event_id: Optional[str] = None, **fields) -> Dict[str, Any]:
    event = {"type": "message", "text": text, "ts": ts or next_ts(), "channel": channel, "channel_type": channel_type}
    if user:
        event["user"] = user
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(fields)
    return event_callback(event, event_id=event_id)


def slash_command(text: str, response_url: str, channel: str = "C0001", user: str = USER_ID) -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "person",
            "command": "/ask",
            "text": text,
            "api_app_id": "A0001",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def block_action(answer_id: str, vote: str, response_url: str, channel: str = "C0001", user: str = USER_ID, thread_ts: str = "1699999999.000001") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "person", "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000009", "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "12466734323.1395872398.8ad2e0cf0bc6fd4a7bb0aaea8c2f0b22",
        "team": {"id": TEAM_ID, "domain": "example"},
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": "1700000000.000009", "thread_ts": thread_ts, "bot_id": BOT_ID, "text": "Answer"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": f"spanqa_feedback_{vote}",
                "block_id": "spanqa_feedback",
                "value": answer_id,
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def feedback_click(answer_id: str, vote: str, response_url: str, channel: str = "C0001", user: str = USER_ID, native: bool = True) -> str:
    """A click on Slack's native feedback buttons (native) or on the classic ones."""
    body = json.loads(urllib.parse.parse_qs(block_action(answer_id, vote, response_url, channel, user))["payload"][0])
    if native:
        body["actions"] = [
            {"type": "feedback_buttons", "action_id": "spanqa_feedback", "block_id": "spanqa_feedback",
             "value": f"{vote}:{answer_id}", "action_ts": str(time.time())}
        ]
    return urllib.parse.urlencode({"payload": json.dumps(body)})


def view_submission(metadata: str, answer: Optional[str] = None, no_answer: bool = False, user: str = USER_ID) -> str:
    """The correction modal submitted with `answer` typed and/or "no answer" ticked."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user, "username": "person", "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "trigger_id": "12466734323.1395872398.8ad2e0cf0bc6fd4a7bb0aaea8c2f0b99",
        "view": {
            "id": "V0001",
            "type": "modal",
            "callback_id": "spanqa_correction",
            "private_metadata": metadata,
            "state": {
                "values": {
                    "answer": {"text": {"type": "plain_text_input", "value": answer}},
                    "no_answer": {
                        "checked": {
                            "type": "checkboxes",
                            "selected_options": [{"value": "no_answer"}] if no_answer else [],
                        }
                    },
                }
            },
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def assistant_thread_started(channel: str = "D0001", user: str = USER_ID, thread_ts: Optional[str] = None) -> Dict[str, Any]:
    thread_ts = thread_ts or next_ts()
    event = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": user, "context": {}, "channel_id": channel, "thread_ts": thread_ts},
        "event_ts": thread_ts,
    }
    return event_callback(event)


def send_event(url: str, payload: Dict[str, Any], secret: str = SIGNING_SECRET, **headers: str) -> Tuple[int, str, float]:
    body = json.dumps(payload)
    return post(url, body, signed_headers(body, secret, **headers), "application/json")


def send_form(url: str, body: str, secret: str = SIGNING_SECRET) -> Tuple[int, str, float]:
    return post(url, body, signed_headers(body, secret), "application/x-www-form-urlencoded")


# ---------------------------------------------------------------------------
# A fake answerer with the QuestionAnswerer interface


@dataclass
class FakePassage:
    id: str
    text: str
    title: str
    path: str
    url: Optional[str] = None
    start_char: int = 0
    end_char: int = 0
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeAnswer:
    text: str
    score: float
    start_char: int
    end_char: int
    passage: FakePassage


@dataclass
class FakeRetrieved:
    passage: FakePassage
    bm25_score: float


@dataclass
class FakeResult:
    question: str
    answer: Optional[FakeAnswer]
    candidates: List[FakeAnswer] = field(default_factory=list)
    passages: List[FakeRetrieved] = field(default_factory=list)


LEAVE = FakePassage(
    "leave.md#0",
    "Leave & holidays: employees get 25 days of paid vacation per year. Unused days <up to 5> carry over.",
    "Leave policy",
    "handbook/leave.md",
)
EXPENSES = FakePassage(
    "expenses.md#0",
    "Expenses above 100 EUR need a manager's approval before purchase.",
    "Expenses",
    "handbook/expenses.md",
    url="https://wiki.example.com/expenses",
)


OFFICES = FakePassage(
    "offices.txt#0",
    "Northwind Labs also has offices in Lisbon and Toronto. The Lisbon office opened in 2021 and the Toronto office opened in 2023.",
    "Northwind Labs offices",
    "handbook/offices.txt",
)
TRAVEL = FakePassage(
    "expenses.md#1",
    "Flights shorter than six hours are booked in economy class. The daily meal allowance on business trips is 40 euros.",
    "Travel and expenses",
    "handbook/expenses.md",
)
# (words that must all be in the question, the passage, the answer): a stand-in for retrieval + reading.
FAKE_KNOWLEDGE = [
    (("vacation",), LEAVE, "25 days"),
    (("toronto", "office"), OFFICES, "2023"),
    (("lisbon", "office"), OFFICES, "2021"),
    (("meal", "allowance"), TRAVEL, "40 euros"),
]


class FakeAnswerer:
    """Answers from FAKE_KNOWLEDGE (e.g. "vacation" questions from LEAVE),
    knows nothing else; a question containing "explode" raises RuntimeError,
    "slow" sleeps `slow_seconds`."""

    def __init__(self, slow_seconds: float = 0.0):
        self.asked: List[str] = []
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()

    def ask(self, question: str, top_k: Optional[int] = None) -> FakeResult:
        with self._lock:
            self.asked.append(question)
        if not question.strip():
            raise ValueError("Empty question: ask a question with at least one word.")
        if "explode" in question:
            raise RuntimeError("reader crashed")
        if "slow" in question:
            time.sleep(self.slow_seconds)
        lowered = question.lower()
        for words, passage, text in FAKE_KNOWLEDGE:
            if all(w in lowered for w in words):
                start = passage.text.index(text)
                answer = FakeAnswer(text, 0.87, start, start + len(text), passage)
                others = [FakeRetrieved(p, 1.2) for p in (LEAVE, EXPENSES, OFFICES) if p is not passage]
                return FakeResult(question, answer, [], [FakeRetrieved(passage, 7.5)] + others)
        passages = [FakeRetrieved(LEAVE, 7.5), FakeRetrieved(EXPENSES, 1.2)]
        return FakeResult(question, None, [], passages)

    def ask_many(self, questions: List[str], top_k: Optional[int] = None) -> List[FakeResult]:
        return [self.ask(q, top_k) for q in questions]


# ---------------------------------------------------------------------------
# The bot, served over HTTP on 127.0.0.1 against the mock API


class RunningBot:
    """`create_app` + `HTTPRunner` on 127.0.0.1 (a free port unless given), in a thread.
    `database`: a SQLite file path or a database URL."""

    def __init__(self, api: MockSlackAPI, answerer: Any, database, port: int = 0, **app_options: Any):
        from slack_sdk import WebClient

        from spacy_spanqa.bot.app import create_app
        from spacy_spanqa.bot.server import HTTPRunner
        from spacy_spanqa.bot.store import BotStore

        self.store = BotStore(database)
        client = WebClient(token=BOT_TOKEN, base_url=api.url if isinstance(api, MockSlackAPI) else api)
        self.app = create_app(answerer, client=client, signing_secret=SIGNING_SECRET, store=self.store, **app_options)
        self.runner = HTTPRunner(self.app, host="127.0.0.1", port=port)
        self.url = self.runner.url
        self.thread = threading.Thread(target=self.runner.start, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.runner.close()
        self.store.close()


# ---------------------------------------------------------------------------
# Several replicas: a real PostgreSQL server, and bot processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresUnavailable(RuntimeError):
    """Why no PostgreSQL server could be started here (the test skips with it)."""


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary directory, listening on
    127.0.0.1 only, with trust authentication for user `spanqa`. Uses Debian's
    `postgresql` package (`initdb` and `pg_ctl` from /usr/lib/postgresql/*/bin);
    as root it runs as the `postgres` user, since PostgreSQL refuses root."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
        pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
        if not pg_ctl:
            raise PostgresUnavailable("PostgreSQL is not installed: `apt-get install -y postgresql` provides initdb and pg_ctl.")
        self.bin = os.path.dirname(pg_ctl)
        self.user_kwargs: Dict[str, Any] = {}
        self.dir = tempfile.mkdtemp(prefix="spanqa-pg-")
        if os.geteuid() == 0:
            import pwd

            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no `postgres` user to run PostgreSQL as") from None
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.user_kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = f"postgresql://spanqa@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", self.data, "-U", "spanqa", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "start")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [os.path.join(self.bin, program), *args], capture_output=True, text=True, cwd=self.dir, **self.user_kwargs
        )
        if done.returncode != 0:
            log = os.path.join(self.dir, "log")
            tail = open(log).read()[-2000:] if os.path.exists(log) else ""
            self.close()
            raise PostgresUnavailable(f"{program} failed ({done.returncode}): {done.stderr.strip()[-800:]} {tail}")

    def close(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(
                [os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                capture_output=True, cwd=self.dir, **self.user_kwargs,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


class ReplicaProcess:
    """`python tests/bot_helpers.py serve`: the bot with a FakeAnswerer in a
    process of its own, on 127.0.0.1:`port`, sharing `database` with others."""

    def __init__(self, api_url: str, database: str, slow_seconds: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"
        here = os.path.dirname(os.path.abspath(__file__))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(here), here])}
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(here, "bot_helpers.py"), "serve", "--api", api_url, "--database", database,
             "--port", str(self.port), "--slow", str(slow_seconds)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def wait_until_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited with {self.process.returncode}: {self.process.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"replica did not listen on port {self.port} within {timeout}s")

    def close(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stdout.read() if self.process.stdout else ""


def _serve(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description="Serve the bot with a fake answerer (a replica in tests).")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--api", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slow", type=float, default=0.0)
    args = parser.parse_args(argv)
    bot = RunningBot(args.api, FakeAnswerer(slow_seconds=args.slow), args.database, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        bot.close()


if __name__ == "__main__":
    _serve(sys.argv[1:])
