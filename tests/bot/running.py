"""The bot in this process: `create_app` + `HTTPRunner` on 127.0.0.1 against the mock Web API."""
import threading
from typing import Any

from spacy_spanqa.results import Answerer
from tests.bot.mock_slack import BOT_TOKEN, SIGNING_SECRET, MockSlackAPI


class RunningBot:
    """`create_app` + `HTTPRunner` on 127.0.0.1 (a free port unless given), in a thread.
    `database`: a SQLite file path or a database URL."""

    def __init__(self, api: MockSlackAPI, answerer: Answerer, database, port: int = 0, **app_options: Any):
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
