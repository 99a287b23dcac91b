"""A mock Slack Web API on 127.0.0.1 that records the calls it gets, and the
signed Events API / slash command / interactivity requests Slack would send
the bot. Shared by the bot tests and benchmarks/bot_load.py."""
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-1111-2222-testtoken"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0001"
USER_ID = "UPERSON1"
OTHER_TEAM_ID = "T0002"  # another organization, in a Slack Connect channel

# ---------------------------------------------------------------------------
# Mock Slack Web API

DIRECTORY_METHODS = {
    "users.info", "conversations.info", "conversations.members", "conversations.list",
    "usergroups.users.list", "usergroups.list",
}


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
    /response/ stand in for slash command and interactivity response_urls.

    The workspace's directory, for the bot's audience checks: `users` (id ->
    users.info fields; anyone else is a full member of TEAM_ID), `channels`
    (id -> conversations.info fields, with "members" for conversations.members,
    paged by `page_size`), `usergroups` (id -> {"handle", "users"}) and
    `enterprise_id` (what auth.test says, for an Enterprise Grid install).
    Users "UGONE…" and channels "CGONE…" are not found."""

    def __init__(self) -> None:
        self.users: Dict[str, Dict[str, Any]] = {}
        self.channels: Dict[str, Dict[str, Any]] = {}
        self.usergroups: Dict[str, Dict[str, Any]] = {}
        self.enterprise_id: Optional[str] = None
        self.page_size = 2
        self.calls: List[APICall] = []
        self._failures: Dict[str, List[str]] = {}
        self._rate_limits: Dict[str, List[int]] = {}
        self._last_retry_after = 0
        self.rate_limited = 0  # 429 answers given so far
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
                self.rate_limited += 1
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
            identity = {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "handbook-qa",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
            if self.enterprise_id:
                identity.update(enterprise_id=self.enterprise_id, is_enterprise_install=False)
            return identity
        if method in DIRECTORY_METHODS:
            return self._directory(method, args)
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        return {"ok": True}

    def _directory(self, method: str, args: Dict[str, Any]) -> Dict[str, Any]:
        if method == "users.info":
            user = args.get("user", "")
            if user.startswith("UGONE"):
                return {"ok": False, "error": "user_not_found"}
            fields = self.users.get(user, {})
            return {"ok": True, "user": {"id": user, "team_id": TEAM_ID, "name": user.lower(), "deleted": False,
                                         "is_restricted": False, "is_ultra_restricted": False, **fields}}
        if method == "conversations.info":
            name = args.get("channel", "")
            channel = self.channels.get(name, None if name.startswith("CGONE") else {"id": name, "is_ext_shared": False})
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {k: v for k, v in channel.items() if k != "members"}}
        if method == "conversations.members":
            channel = self.channels.get(args.get("channel", ""))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            members = channel.get("members", [])
            start = int(args.get("cursor") or 0)
            size = min(int(args.get("limit") or 100), self.page_size)
            more = start + size < len(members)
            return {"ok": True, "members": members[start:start + size],
                    "response_metadata": {"next_cursor": str(start + size) if more else ""}}
        if method == "conversations.list":
            return {"ok": True, "channels": [{k: v for k, v in c.items() if k != "members"} for c in self.channels.values()],
                    "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            group = self.usergroups.get(args.get("usergroup", ""))
            if group is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(group.get("users", []))}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": [{"id": id, "handle": g.get("handle", id.lower())} for id, g in self.usergroups.items()]}
        raise AssertionError(method)

    def wait_for_any(self, methods, count: int = 1, timeout: float = 5.0) -> List[APICall]:
        """The calls to any of `methods` once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self.calls if c.method in methods]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} call(s) to {methods} within {timeout}s; all calls: {[c.method for c in self.calls]}")
                self._lock.wait(remaining)

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
