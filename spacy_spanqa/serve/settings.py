"""Every default of `spanqa serve`, written once (the question length limit is the bot's)."""
from ..bot.settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING, DEFAULT_MAX_QUESTION_CHARS  # noqa: F401

DEFAULT_HOST = "127.0.0.1"  # any other address needs an API token
DEFAULT_PORT = 8000
TOKEN_ENV = "SPANQA_TOKEN"  # where --token is read from when not given
MAX_QUESTIONS_PER_REQUEST = 64  # a larger batch is refused with 422
MAX_BODY_BYTES = 256 * 1024  # a larger request body is refused with 413
WEB_CHANNEL = "web"  # the `channel` of answers asked through the API, beside Slack's channel ids
ANSWER_TIMEOUT_SECONDS = 120.0  # a queued question not answered by then gets 504
