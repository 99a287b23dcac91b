"""The Slack app: listeners that acknowledge at once and hand questions on.

Questions come from @-mentions, direct messages, follow-ups in threads the bot
answered, and `/ask`. Each listener checks the question, marks the message
with a reaction, and queues it (`AnswerQueue`); the reply is posted from the
queue's callback. Formatting lives in `blocks.py`, storage in `feedback.py`.
"""
import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from . import blocks
from .answer_queue import AnswerQueue, Outcome
from .dedupe import RecentKeys
from .feedback import FeedbackStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUESTION_CHARS = 500
WORKING_REACTION = "hourglass_flowing_sand"
# Message subtypes that carry a person's new question; edits, joins, bot
# messages and the like are skipped.
QUESTION_SUBTYPES = {None, "thread_broadcast", "file_share"}
# chat.postMessage errors after which /ask answers through the command's response_url.
NOT_POSTABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


@dataclass
class Question:
    """A question and where its answer goes."""

    text: str
    channel: str
    user: Optional[str]
    thread_ts: Optional[str]  # reply in this thread; None: at the top level
    message_ts: Optional[str] = None  # the question's own message (gets the reaction)
    response_url: Optional[str] = None  # /ask only
    from_command: bool = False


def create_app(
    answerer: Any,
    *,
    client: WebClient,
    signing_secret: Optional[str] = None,
    feedback: FeedbackStore,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    max_batch: int = 8,
    max_pending: int = 200,
    token_verification_enabled: bool = True,
) -> App:
    """A bolt App answering with `answerer` (anything with the
    `QuestionAnswerer.ask` / `ask_many` interface) through `client`.

    signing_secret: verifies HTTP requests (not used in Socket Mode).
    feedback: where answers and votes are stored.
    max_question_chars: longer questions are refused, not truncated.
    max_batch / max_pending: see `AnswerQueue`.
    """
    _quiet_bolt_client_warning()
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        token_verification_enabled=token_verification_enabled,
        ignoring_self_events_enabled=True,  # never answer its own messages
    )
    bot = _QABot(app.client, AnswerQueue(answerer, max_batch=max_batch, max_pending=max_pending), feedback, max_question_chars)
    app.use(bot.skip_repeated_events)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.command("/ask")(ack=bot.ack_ask, lazy=[bot.answer_ask])
    app.action(re.compile("^" + re.escape(blocks.FEEDBACK_ACTION_PREFIX)))(bot.on_feedback)
    app.error(bot.on_error)
    return app


class _ClientTokenWarningFilter(logging.Filter):
    """bolt warns that the token is unused whenever SLACK_BOT_TOKEN is set and a
    client is given; passing the client (for SLACK_API_URL) is deliberate here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _quiet_bolt_client_warning() -> None:
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _ClientTokenWarningFilter) for f in bolt_logger.filters):
        bolt_logger.addFilter(_ClientTokenWarningFilter())


class _QABot:
    """The listeners and the reply logic, sharing the client, queue and store."""

    def __init__(self, client: WebClient, answers: AnswerQueue, feedback: FeedbackStore, max_question_chars: int):
        self.client = client
        self.answers = answers
        self.feedback = feedback
        self.max_question_chars = max_question_chars
        self.seen_events = RecentKeys()
        # app_mention and message events arrive for the same message: answer it once.
        self.claimed_messages = RecentKeys()

    # -- global middleware ---------------------------------------------------

    def skip_repeated_events(self, body: Dict[str, Any], next, logger: logging.Logger):
        """Acknowledge an event id seen before (a Slack retry, possibly of one
        still being answered) without running any listener."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.seen_events.add(event_id):
            logger.info("Skipping repeated event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    # -- events ----------------------------------------------------------------

    def on_mention(self, event: Dict[str, Any], context) -> None:
        if not _from_a_person(event):
            return
        in_dm = event["channel"].startswith("D")  # DMs are answered at the top level, like message.im
        thread_ts = event.get("thread_ts") or (None if in_dm else event["ts"])
        self._take_message(event, context.bot_user_id, thread_ts=thread_ts)

    def on_message(self, event: Dict[str, Any], context) -> None:
        if not _from_a_person(event):
            return
        if event.get("channel_type") == "im":
            # Direct messages: reply in the conversation, or in the thread asked in.
            self._take_message(event, context.bot_user_id, thread_ts=event.get("thread_ts"))
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return  # a channel message not addressed to the bot
        if context.bot_user_id and f"<@{context.bot_user_id}" in (event.get("text") or ""):
            return  # a mention: the app_mention event answers it
        question = blocks.question_from_text(event.get("text"), context.bot_user_id)
        if not blocks.looks_like_question(question):
            return  # "thanks!" in the thread is not a question
        if self.feedback.answered_in_thread(event["channel"], thread_ts):
            self._take_message(event, context.bot_user_id, thread_ts=thread_ts)

    def _take_message(self, event: Dict[str, Any], bot_user_id: Optional[str], thread_ts: Optional[str]) -> None:
        if not self.claimed_messages.add((event["channel"], event["ts"])):
            return
        question = Question(
            text=blocks.question_from_text(event.get("text"), bot_user_id),
            channel=event["channel"],
            user=event.get("user"),
            thread_ts=thread_ts,
            message_ts=event["ts"],
        )
        problem = self._problem_with(question.text, bot_user_id)
        if problem:
            self._post_text(question, problem)
            return
        self._react(question, "reactions_add")
        self._queue(question)

    # -- /ask ----------------------------------------------------------------

    def ack_ask(self, ack: Ack, command: Dict[str, Any], context) -> None:
        text = blocks.question_from_text(command.get("text"), context.bot_user_id)
        ack(self._problem_with(text, context.bot_user_id) or blocks.working_message(text))

    def answer_ask(self, command: Dict[str, Any], context) -> None:
        text = blocks.question_from_text(command.get("text"), context.bot_user_id)
        if self._problem_with(text, context.bot_user_id):
            return  # the acknowledgement already said what is wrong
        self._queue(
            Question(
                text=text,
                channel=command["channel_id"],
                user=command.get("user_id"),
                thread_ts=None,
                response_url=command.get("response_url"),
                from_command=True,
            )
        )

    # -- feedback buttons ------------------------------------------------------

    def on_feedback(self, ack: Ack, body: Dict[str, Any], action: Dict[str, Any], respond) -> None:
        ack()
        vote = action["action_id"][len(blocks.FEEDBACK_ACTION_PREFIX):]
        user = body.get("user", {}).get("id", "")
        self.feedback.record_vote(action["value"], user, vote)
        logger.info("Recorded a %s vote on answer %s", vote, action["value"])
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
        message = body.get("message") or {}
        try:
            self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=blocks.thanks_message(vote),
                thread_ts=message.get("thread_ts"),
            )
        except SlackApiError:
            # e.g. an /ask answer in a channel the bot is not in
            respond(text=blocks.thanks_message(vote), response_type="ephemeral", replace_original=False)

    def on_error(self, error: Exception, body: Dict[str, Any]) -> None:
        logger.error("Unhandled error in a listener: %s", error, exc_info=error)

    # -- answering -------------------------------------------------------------

    def _problem_with(self, text: str, bot_user_id: Optional[str]) -> Optional[str]:
        if not text:
            return blocks.hint_message(bot_user_id)
        if len(text) > self.max_question_chars:
            return blocks.too_long_message(len(text), self.max_question_chars)
        return None

    def _queue(self, question: Question) -> None:
        if not self.answers.submit(question.text, lambda outcome: self._reply(question, outcome)):
            logger.warning("Answer queue full; turned a question away")
            self._react(question, "reactions_remove")
            self._post_text(question, blocks.busy_message())

    def _reply(self, question: Question, outcome: Outcome) -> None:
        """Post the answer (or a polite error) and take the reaction off."""
        try:
            if isinstance(outcome, Exception):
                self._reply_failure(question, outcome)
            else:
                self._post_answer(question, outcome)
        except Exception as error:
            logger.error("Posting the answer to %r failed: %s", question.text, error, exc_info=error)
            self._post_text(question, blocks.error_message())
        finally:
            self._react(question, "reactions_remove")

    def _reply_failure(self, question: Question, error: Exception) -> None:
        if isinstance(error, ValueError):
            # Errors a user can cause come with a one-sentence message for them.
            logger.info("Could not answer %r: %s", question.text, error)
            self._post_text(question, blocks.error_message(str(error)))
        else:
            logger.error("Answering %r failed: %s", question.text, error, exc_info=error)
            self._post_text(question, blocks.error_message())

    def _post_answer(self, question: Question, result: Any) -> None:
        answer_id = self.feedback.record_answer(
            result, channel=question.channel, thread_ts=question.thread_ts, asked_by=question.user
        )
        asked_by = question.user if question.from_command else None
        text, answer_blocks = blocks.answer_message(result, answer_id, asked_by=asked_by)
        if question.from_command:
            self._post_command_answer(question, answer_id, text, answer_blocks)
            return
        self.client.chat_postMessage(
            channel=question.channel,
            thread_ts=question.thread_ts,
            text=text,
            blocks=answer_blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    def _post_command_answer(self, question: Question, answer_id: str, text: str, answer_blocks: List) -> None:
        """Post /ask answers in the channel so follow-ups can go in their thread;
        where the bot may not post, answer through the command's response_url."""
        try:
            response = self.client.chat_postMessage(
                channel=question.channel, text=text, blocks=answer_blocks, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as error:
            if error.response.get("error") not in NOT_POSTABLE or not question.response_url:
                raise
            WebhookClient(question.response_url).send(
                text=text, blocks=answer_blocks, response_type="in_channel", replace_original=False
            )
            return
        self.feedback.set_thread(answer_id, response["channel"], response["ts"])

    def _post_text(self, question: Question, text: str) -> None:
        """A short reply (hint, refusal, apology); failures are logged, not raised."""
        try:
            if question.from_command and question.response_url:
                WebhookClient(question.response_url).send(text=text, response_type="ephemeral", replace_original=False)
            else:
                self.client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts, text=text)
        except Exception as error:
            logger.error("Could not post a reply in %s: %s", question.channel, error)

    def _react(self, question: Question, method: str) -> None:
        if not question.message_ts:
            return
        try:
            getattr(self.client, method)(channel=question.channel, timestamp=question.message_ts, name=WORKING_REACTION)
        except SlackApiError as error:
            # A missing reactions:write scope must not stop the answer.
            logger.warning("%s failed: %s", method, error.response.get("error"))
        except Exception as error:
            logger.warning("%s failed: %s", method, error)


def _from_a_person(event: Dict[str, Any]) -> bool:
    """False for bot messages, edits, deletions, joins and other subtypes."""
    return not event.get("bot_id") and event.get("subtype") in QUESTION_SUBTYPES and bool(event.get("user"))
