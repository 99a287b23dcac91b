"""The Slack app, wired: a bolt `App` whose listeners (`listeners.py`) take
questions, an `AnswerQueue` that answers them off Slack's request path, and
`Replies` (`replies.py`) that post the answers. Formatting lives in
`blocks.py`, storage in `store.py`: replicas sharing one database answer each
Slack event once. An `AudienceGate` (`audience.py`) says which knowledge bases
(`knowledge.py`) each question may search, from the access policy (`access.py`).
"""
import logging
from typing import Optional, Sequence, Union

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from .._moved import moved
from ..results import Answerer
from .access import AccessPolicy, Audience, KnowledgeBaseSpec
from .answer_queue import AnswerQueue
from .audience import AudienceGate, Home, SlackDirectory
from .knowledge import KnowledgeBases
from .listeners import Listeners, register_listeners
from .replies import Replies
from .settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING, DEFAULT_MAX_QUESTION_CHARS, DEFAULT_PROMPTS
from .store import BotStore

# Retries of a 429 (rate limited) Web API call, each after Slack's Retry-After.
RATE_LIMIT_RETRIES = 3


def create_app(
    answerer: Union[Answerer, KnowledgeBases],
    *,
    client: WebClient,
    store: BotStore,
    access: Optional[AccessPolicy] = None,
    home: Optional[Home] = None,
    signing_secret: Optional[str] = None,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_pending: int = DEFAULT_MAX_PENDING,
    suggested_prompts: Sequence[str] = DEFAULT_PROMPTS,
    token_verification_enabled: bool = True,
) -> App:
    """A bolt App answering with `answerer` (a `QuestionAnswerer`, or anything
    with its `ask` / `ask_many`; or `KnowledgeBases`, one answerer per
    knowledge base) through `client`.

    store: answers, votes, thread context and event claims (shared by replicas).
    access: who may read which knowledge base (None: every knowledge base open
        to every member; guests and Slack Connect users refused).
    home: where the app is installed (`audience.Home.from_auth_test`); None:
        `auth.test` is called when first needed.
    signing_secret: verifies HTTP requests (not used in Socket Mode).
    max_question_chars: longer questions are refused, not truncated.
    max_batch / max_pending: see `AnswerQueue`.
    suggested_prompts: offered when someone opens the bot's AI-app thread.
    """
    _quiet_bolt_client_warning()
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        token_verification_enabled=token_verification_enabled,
        ignoring_self_events_enabled=True,  # never answer its own messages
    )
    knowledge_bases = answerer if isinstance(answerer, KnowledgeBases) else KnowledgeBases.single(answerer)
    policy = access if access is not None else open_to_members(knowledge_bases.names)
    missing = [name for name in policy.names if name not in knowledge_bases.names]
    if missing or not policy.names:
        raise ValueError(f"No answerer for the knowledge base(s) {', '.join(missing) or '(none)'} of the access policy.")
    gate = AudienceGate(policy, SlackDirectory(app.client, policy.cache_seconds, home=home))
    answers = AnswerQueue(knowledge_bases, max_batch=max_batch, max_pending=max_pending)
    listeners = Listeners(
        app.client,
        answers,
        Replies(app.client, store),
        store,
        gate,
        max_question_chars=max_question_chars,
        suggested_prompts=suggested_prompts,
    )
    register_listeners(app, listeners)
    return app


def open_to_members(names: Sequence[str]) -> AccessPolicy:
    """Every knowledge base open to every member; guests and outsiders refused (no access file)."""
    return AccessPolicy(tuple(KnowledgeBaseSpec(name, "", Audience(everyone=True)) for name in names))


class _ClientTokenWarningFilter(logging.Filter):
    """bolt warns that the token is unused whenever SLACK_BOT_TOKEN is set and a
    client is given; passing the client (for SLACK_API_URL) is deliberate here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _quiet_bolt_client_warning() -> None:
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _ClientTokenWarningFilter) for f in bolt_logger.filters):
        bolt_logger.addFilter(_ClientTokenWarningFilter())


# Lived here until 0.3, when the listeners and replies moved out.
__getattr__ = moved(__name__, {
    "DEFAULT_PROMPTS": "spacy_spanqa.bot.settings",
    "DEFAULT_MAX_QUESTION_CHARS": "spacy_spanqa.bot.settings",
    "Question": "spacy_spanqa.bot.replies",
})
