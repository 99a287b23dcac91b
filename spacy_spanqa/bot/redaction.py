"""Logging that never shows a Slack token or the signing secret."""
import logging
import re
import sys
from typing import Iterable

# Bot, user, app-level, refresh and config tokens: xoxb-, xoxp-, xoxa-, xoxe-, xoxr-, xoxs-, xapp-.
TOKEN_PATTERN = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = TOKEN_PATTERN.sub(lambda m: m.group(1) + "-[redacted]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


class TokenRedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with tokens and the given
    secrets replaced by "[redacted]". Attach it to handlers: a filter on a
    logger does not see records propagated from its children."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr (unless logging is already set up) with every root
    handler redacting tokens and `secrets`."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, TokenRedactingFilter) for f in handler.filters):
            handler.addFilter(TokenRedactingFilter(secrets))
    root.setLevel(level.upper())
