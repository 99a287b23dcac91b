"""`spanqa serve`'s app on 127.0.0.1 in this process (uvicorn in a thread), and a
small JSON client over urllib: real HTTP, no test client."""
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple


class RunningServer:
    """uvicorn serving `app` on a free 127.0.0.1 port until `close()`."""

    def __init__(self, app) -> None:
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("The test server did not start.")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def serve_app(answerer, store, **options) -> RunningServer:
    """`create_app(answerer, store, **options)` served on 127.0.0.1."""
    from spacy_spanqa.serve.app import create_app

    return RunningServer(create_app(answerer, store, **options))


def request(
    url: str, method: str = "GET", body: Any = None, raw: Optional[bytes] = None, token: Optional[str] = None,
    timeout: float = 60,
) -> Tuple[int, Dict[str, str], Any]:
    """(status, headers, parsed JSON or text) for one HTTP request; `body` is sent as JSON, `raw` as is."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, head, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, payload = error.code, dict(error.headers), error.read()
    text = payload.decode("utf8")
    return status, head, json.loads(text) if "json" in head.get("content-type", "") else text
