"""How the bot reaches Slack: its settings from the environment, and the
runner, Socket Mode when an app-level token is set and HTTP otherwise."""
import logging
import os
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Mapping, Optional, Union
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = WebClient.BASE_URL
APPS_PAGE = "https://api.slack.com/apps"


class SettingsError(ValueError):
    """A missing or malformed Slack setting; the message is one sentence for the user."""


@dataclass
class SlackSettings:
    bot_token: str
    signing_secret: Optional[str]
    app_token: Optional[str]
    api_url: str

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "SlackSettings":
        env = os.environ if env is None else env
        bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip() or None
        if not bot_token:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: export the Bot User OAuth Token (xoxb-...) "
                f"from your app's OAuth & Permissions page at {APPS_PAGE}."
            )
        if bot_token.startswith("xapp-"):
            raise SettingsError(
                "SLACK_BOT_TOKEN holds an app-level token (xapp-...): put it in SLACK_APP_TOKEN and set "
                f"SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-...) from {APPS_PAGE}."
            )
        if app_token and not app_token.startswith("xapp-"):
            raise SettingsError(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                f"(Basic Information → App-Level Tokens, scope connections:write, at {APPS_PAGE})."
            )
        if not app_token and not signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs the Signing Secret from your app's "
                f"Basic Information page at {APPS_PAGE} (or set SLACK_APP_TOKEN=xapp-... to use Socket Mode)."
            )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        return cls(bot_token, signing_secret, app_token, api_url)

    def web_client(self) -> WebClient:
        return WebClient(token=self.bot_token, base_url=self.api_url)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Slack sends bursts; the default backlog of 5 would drop connections.
    request_queue_size = 128


class _LoggingRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class HTTPRunner:
    """Serves the app at POST `EVENTS_PATH`, one thread per request, so a
    burst of events is acknowledged in parallel (bolt's `app.start()` serves
    one request at a time with a backlog of 5)."""

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000):
        self.server = make_server(
            host,
            port,
            SlackRequestHandler(app, path=EVENTS_PATH),
            server_class=_ThreadingWSGIServer,
            handler_class=_LoggingRequestHandler,
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{EVENTS_PATH}"

    def start(self) -> None:
        logger.info("Listening for Slack requests on %s", self.url)
        self._serving = True
        self.server.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if getattr(self, "_serving", False):
            self.server.shutdown()  # waits for serve_forever, so only once it ran
        self.server.server_close()


Runner = Union[SocketModeHandler, HTTPRunner]


def choose_runner(app: App, settings: SlackSettings, host: str = "0.0.0.0", port: int = 3000) -> Runner:
    """Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), else HTTP
    on host:port. Socket Mode connects on `start()`; the HTTP port is bound
    here, so a port in use fails before the bot says it is running."""
    if settings.socket_mode:
        return SocketModeHandler(app, app_token=settings.app_token)
    return HTTPRunner(app, host=host, port=port)
