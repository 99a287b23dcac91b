"""Slack text in and out: mrkdwn escaping, and the plain question in a Slack
message (the bot's mention removed, markup turned into its visible text).

Pure functions, no Slack calls: `blocks.py` writes with them, `listeners.py`
reads with them.
"""
import re
from typing import Optional

_ANGLE = re.compile(r"<([^<>]*)>")
# First words of a message that reads as a question (besides a "?").
_QUESTION_WORDS = {
    "who", "whom", "whose", "what", "when", "where", "which", "why", "how",
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "should",
    "would", "will", "may", "must", "have", "has", "had", "and", "also",
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def link_target(url: str) -> str:
    """A URL safe inside `<url|label>`: a link's target may not contain the characters that delimit it."""
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def mentions(text: Optional[str], user_id: Optional[str]) -> bool:
    """True when the Slack message text @-mentions `user_id`."""
    return bool(user_id) and f"<@{user_id}" in (text or "")


def question_from_text(text: Optional[str], bot_user_id: Optional[str] = None) -> str:
    """The question in a Slack message: the bot's own mention removed, links,
    channels and other mentions turned into their visible text, entities
    unescaped and whitespace collapsed."""

    def replace(match: "re.Match[str]") -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            if bot_user_id and target[1:] == bot_user_id:
                return " "
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            # <!here>, <!channel>, <!subteam^ID|@team>, <!date^...|fallback>
            return label or ("@" + target[1:].split("^", 1)[0])
        return label or target

    plain = _ANGLE.sub(replace, text or "")
    return " ".join(unescape(plain).split())


def looks_like_question(text: str) -> bool:
    """True for a message that reads as a question: used for thread follow-ups,
    so that "thanks!" in a thread the bot answered gets no reply."""
    words = text.lower().split()
    return "?" in text or bool(words) and words[0].strip(",") in _QUESTION_WORDS
