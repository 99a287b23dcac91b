"""Replies in Slack: the answer (or a polite error) posted where the question
was asked, the reaction that marks a question being answered, short texts and
ephemeral messages.

A `Question` carries where its reply goes; `Replies` posts it. Message content
comes from `blocks.py`; answers and threads are recorded in the store so
feedback and follow-ups find them.
"""
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from ..results import QAResult
from . import blocks
from .knowledge import Outcome, ScopedResult
from .settings import DEFAULT_KNOWLEDGE_BASE
from .store import BotStore

logger = logging.getLogger(__name__)

WORKING_REACTION = "hourglass_flowing_sand"
# chat.postMessage errors after which /ask answers through the command's response_url.
NOT_POSTABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# chat.postMessage errors from a workspace or client without native feedback buttons.
BLOCKS_REJECTED = {"invalid_blocks", "invalid_blocks_format"}


@dataclass
class Question:
    """A question, how it is read, and where its answer goes."""

    text: str  # as read: a follow-up with its thread's context
    channel: str
    user: Optional[str]
    thread_ts: Optional[str]  # reply in this thread; None: at the top level
    message_ts: Optional[str] = None  # the question's own message (gets the reaction)
    response_url: Optional[str] = None  # /ask only
    from_command: bool = False
    asked_text: Optional[str] = None  # as typed, when a follow-up was read with context
    read_with: Optional[str] = None  # the earlier question it was read with
    first_in_thread: bool = True
    knowledge_bases: Tuple[str, ...] = ()  # what its audience lets it search (audience.py)
    private_to_asker: bool = False  # only the asker reads the answer: never post it where others do


class Replies:
    """Posts through `client`; records posted answers in `store`."""

    def __init__(self, client: WebClient, store: BotStore):
        self.client = client
        self.store = store

    def deliver(self, question: Question, outcome: Outcome) -> None:
        """Post the answer (or a polite error) and take the reaction off:
        the answer queue's callback."""
        try:
            if isinstance(outcome, Exception):
                self._failure(question, outcome)
            else:
                self._answer(question, outcome)
        except Exception as error:
            logger.error("Posting the answer to %r failed: %s", question.text, error, exc_info=error)
            self.text(question, blocks.error_message())
        finally:
            self.unmark(question)

    def text(self, question: Question, text: str) -> None:
        """A short reply (hint, refusal, apology); failures are logged, not raised."""
        try:
            if question.from_command and question.response_url:
                WebhookClient(question.response_url).send(text=text, response_type="ephemeral", replace_original=False)
            else:
                self.client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts, text=text)
        except Exception as error:
            logger.error("Could not post a reply in %s: %s", question.channel, error)

    def refuse(self, question: Question, text: str) -> None:
        """A refusal only the asker sees: ephemeral in a channel (a thread reply
        where that fails), a message in their DM, ephemeral for /ask."""
        if question.from_command or question.private_to_asker or not question.user:
            self.text(question, text)
            return
        try:
            self.client.chat_postEphemeral(channel=question.channel, user=question.user, text=text, thread_ts=question.thread_ts)
        except Exception as error:
            logger.info("Ephemeral refusal in %s failed (%s); replying in the thread", question.channel, error)
            self.text(question, text)

    def mark(self, question: Question) -> None:
        """Put the "working on it" reaction on the question's message."""
        self._react(question, self.client.reactions_add)

    def unmark(self, question: Question) -> None:
        self._react(question, self.client.reactions_remove)

    def ephemeral(self, body: Dict[str, Any], text: str, extra_blocks: Optional[List[blocks.Block]], respond) -> None:
        """A message only the user who clicked sees, in the channel of the
        message they clicked on (through `respond` where the bot may not post)."""
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
        message = body.get("message") or {}
        try:
            self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=extra_blocks, thread_ts=message.get("thread_ts")
            )
        except SlackApiError:
            # e.g. an /ask answer in a channel the bot is not in
            respond(text=text, blocks=extra_blocks, response_type="ephemeral", replace_original=False)

    def _failure(self, question: Question, error: Exception) -> None:
        if isinstance(error, ValueError):
            # Errors a user can cause come with a one-sentence message for them.
            logger.info("Could not answer %r: %s", question.text, error)
            self.text(question, blocks.error_message(str(error)))
        else:
            logger.error("Answering %r failed: %s", question.text, error, exc_info=error)
            self.text(question, blocks.error_message())

    def _answer(self, question: Question, result: QAResult) -> None:
        if isinstance(result, ScopedResult):
            searched, sources, answered_from = result.searched, result.passage_sources, result.answered_from
        else:
            searched, sources, answered_from = question.knowledge_bases or (DEFAULT_KNOWLEDGE_BASE,), None, None
        answer_id = self.store.record_answer(
            result,
            channel=question.channel,
            thread_ts=question.thread_ts,
            asked_by=question.user,
            asked_text=question.asked_text,
            knowledge_bases=searched,
            passage_sources=sources,
            answered_from=answered_from,
        )
        logger.info(
            "Answered %s in %s from knowledge base(s) %s (answer from %s)",
            question.user, question.channel, ", ".join(searched), answered_from or "none",
        )
        asked_by = question.user if question.from_command else None
        text, answer_blocks = blocks.answer_message(result, answer_id, asked_by=asked_by, read_with=question.read_with)
        if question.from_command:
            self._command_answer(question, answer_id, text, answer_blocks)
            return
        self._post_message(channel=question.channel, thread_ts=question.thread_ts, text=text, blocks=answer_blocks)

    def _post_message(self, **message: Any):
        """chat.postMessage with native feedback buttons; again with classic
        ones where the workspace or client rejects them. A 429 is retried after
        Slack's Retry-After by the client's RateLimitErrorRetryHandler."""
        try:
            return self.client.chat_postMessage(unfurl_links=False, unfurl_media=False, **message)
        except SlackApiError as error:
            if error.response.get("error") not in BLOCKS_REJECTED or not message.get("blocks"):
                raise
            logger.info("Native feedback buttons rejected (%s); posting classic buttons", error.response.get("error"))
            message["blocks"] = blocks.with_classic_feedback(message["blocks"])
            return self.client.chat_postMessage(unfurl_links=False, unfurl_media=False, **message)

    def _command_answer(self, question: Question, answer_id: str, text: str, answer_blocks: List[blocks.Block]) -> None:
        """Post /ask answers in the channel so follow-ups can go in their thread;
        where the bot may not post, answer through the command's response_url
        (only to the asker when the answer was scoped to them, e.g. /ask in a
        DM between two people)."""
        try:
            response = self._post_message(channel=question.channel, text=text, blocks=answer_blocks)
        except SlackApiError as error:
            if error.response.get("error") not in NOT_POSTABLE or not question.response_url:
                raise
            WebhookClient(question.response_url).send(
                text=text,
                blocks=blocks.with_classic_feedback(answer_blocks),
                response_type="ephemeral" if question.private_to_asker else "in_channel",
                replace_original=False,
            )
            return
        self.store.set_thread(answer_id, response["channel"], response["ts"])
        self.store.add_turn(response["channel"], response["ts"], question.text, question.text)

    def _react(self, question: Question, call) -> None:
        if not question.message_ts:
            return
        try:
            call(channel=question.channel, timestamp=question.message_ts, name=WORKING_REACTION)
        except SlackApiError as error:
            # A missing reactions:write scope must not stop the answer.
            logger.warning("%s failed: %s", call.__name__, error.response.get("error"))
        except Exception as error:
            logger.warning("%s failed: %s", call.__name__, error)
