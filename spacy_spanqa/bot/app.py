"""The Slack app: listeners that acknowledge at once and hand questions on.

Questions come from @-mentions, direct messages, follow-ups in threads the bot
answered, `/ask`, and Slack's AI-app threads (bolt's `Assistant`: a greeting
with suggested prompts, a status while answering, a thread title). Each
listener checks the question, reads a follow-up with the thread's earlier
question (`followups.py`), marks the message with a reaction, and queues it
(`AnswerQueue`); the reply is posted from the queue's callback. Formatting
lives in `blocks.py`, storage in `store.py`: replicas sharing one database
answer each Slack event once.
"""
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from slack_bolt import Ack, App, Assistant, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from . import blocks
from .answer_queue import AnswerQueue, Outcome
from .feedback import NOT_HELPFUL, VOTES, find_gold_span
from .followups import resolve
from .store import BotStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUESTION_CHARS = 500
WORKING_REACTION = "hourglass_flowing_sand"
WORKING_STATUS = "Searching the knowledge base…"
# A DM's top-level messages have no thread: an earlier question counts as context for this long.
DM_CONTEXT_SECONDS = 15 * 60
# Retries of a 429 (rate limited) Web API call, each after Slack's Retry-After.
RATE_LIMIT_RETRIES = 3
DEFAULT_PROMPTS = (
    "How many vacation days do I get?",
    "Who do I contact about my laptop?",
    "What is the travel meal allowance?",
)
# Message subtypes that carry a person's new question; edits, joins, bot
# messages and the like are skipped.
QUESTION_SUBTYPES = {None, "thread_broadcast", "file_share"}
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


def create_app(
    answerer: Any,
    *,
    client: WebClient,
    store: BotStore,
    signing_secret: Optional[str] = None,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    max_batch: int = 8,
    max_pending: int = 200,
    suggested_prompts: Sequence[str] = DEFAULT_PROMPTS,
    token_verification_enabled: bool = True,
) -> App:
    """A bolt App answering with `answerer` (anything with the
    `QuestionAnswerer.ask` / `ask_many` interface) through `client`.

    store: answers, votes, thread context and event claims (shared by replicas).
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
    bot = _QABot(
        app.client, AnswerQueue(answerer, max_batch=max_batch, max_pending=max_pending), store, max_question_chars
    )
    app.use(bot.skip_repeated_events)
    assistant = Assistant()
    assistant.thread_started(bot.assistant_greeting(list(suggested_prompts)))
    assistant.user_message(bot.on_assistant_message)
    assistant.thread_context_changed(bot.on_assistant_context_changed)
    app.assistant(assistant)
    app.event("app_mention")(bot.on_mention)
    app.event("message")(bot.on_message)
    app.command("/ask")(ack=bot.ack_ask, lazy=[bot.answer_ask])
    app.action(re.compile("^" + re.escape(blocks.FEEDBACK_ACTION_PREFIX)))(bot.on_feedback)
    app.action(blocks.CORRECT_ACTION)(bot.on_correct_button)
    app.view(blocks.CORRECTION_CALLBACK)(bot.on_correction)
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

    def __init__(self, client: WebClient, answers: AnswerQueue, store: BotStore, max_question_chars: int):
        self.client = client
        self.answers = answers
        self.store = store
        self.max_question_chars = max_question_chars

    # -- global middleware ---------------------------------------------------

    def skip_repeated_events(self, body: Dict[str, Any], next, logger: logging.Logger):
        """Acknowledge an event id some replica took before (a Slack retry,
        possibly of one still being answered) without running any listener."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.store.claim(f"event:{event_id}"):
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
        if self.store.asked_in_thread(event["channel"], thread_ts):
            self._take_message(event, context.bot_user_id, thread_ts=thread_ts)

    def _take_message(self, event: Dict[str, Any], bot_user_id: Optional[str], thread_ts: Optional[str], on_queued=None) -> None:
        # app_mention and message events arrive for the same message, perhaps at different replicas.
        if not self.store.claim(f"message:{event['channel']}:{event['ts']}"):
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
        self._read_in_context(question)
        if on_queued is not None:
            on_queued(question)
        self._react(question, "reactions_add")
        self._queue(question)

    def _read_in_context(self, question: Question) -> None:
        """Read a follow-up with the thread's earlier question, and remember
        this one for the next follow-up (in the store: restarts and other
        replicas see it)."""
        since = None if question.thread_ts else time.time() - DM_CONTEXT_SECONDS
        earlier = self.store.recent_turns(question.channel, question.thread_ts, limit=1, since=since)
        previous = earlier[-1]["question"] if earlier else None
        question.first_in_thread = previous is None
        reading = resolve(question.text, previous, max_chars=self.max_question_chars)
        if reading.used_context:
            logger.info("Read follow-up %r as %r", question.text, reading.question)
            question.asked_text, question.read_with = question.text, reading.context
            question.text = reading.question
        self.store.add_turn(question.channel, question.thread_ts, question.asked_text or question.text, question.text)

    # -- Slack's AI-app threads (bolt's Assistant) ------------------------------------

    def assistant_greeting(self, prompts: List[str]):
        def on_thread_started(say, set_suggested_prompts) -> None:
            say(blocks.greeting_message())
            if prompts:
                try:
                    set_suggested_prompts(prompts=prompts[:4], title="Try asking:")
                except SlackApiError as error:
                    logger.warning("Could not set suggested prompts: %s", error.response.get("error"))

        return on_thread_started

    def on_assistant_context_changed(self) -> None:
        """The user switched channels beside the panel: answers come from the
        knowledge base whatever they look at, so there is nothing to keep
        (bolt's default would store it in message metadata)."""

    def on_assistant_message(self, payload: Dict[str, Any], context, set_status, set_title) -> None:
        """A question in an AI-app thread (or any DM thread): title the thread
        on its first question, show a status while answering."""
        if not _from_a_person(payload):
            return

        def show_progress(question: Question) -> None:
            try:
                if question.first_in_thread:
                    set_title(blocks.thread_title(question.text))
                set_status(WORKING_STATUS)
            except SlackApiError as error:
                # Not an AI-app thread (a thread in a plain DM), or the assistant:write scope is missing.
                logger.debug("Assistant status/title not set: %s", error.response.get("error"))

        self._take_message(payload, context.bot_user_id, thread_ts=payload.get("thread_ts"), on_queued=show_progress)

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

    # -- feedback ----------------------------------------------------------------

    def on_feedback(self, ack: Ack, body: Dict[str, Any], action: Dict[str, Any], respond) -> None:
        ack()
        vote, answer_id = blocks.parse_feedback_action(action)
        if vote not in VOTES:
            logger.warning("Ignoring an unknown feedback action %r", action.get("action_id"))
            return
        user = body.get("user", {}).get("id", "")
        self.store.record_vote(answer_id, user, vote)
        logger.info("Recorded a %s vote on answer %s", vote, answer_id)
        if vote == NOT_HELPFUL and self._open_correction(body, answer_id):
            return  # the modal asks for the right answer and thanks them
        text, prompt = (
            blocks.correction_prompt(answer_id) if vote == NOT_HELPFUL else (blocks.thanks_message(vote), None)
        )
        self._ephemeral(body, text, prompt, respond)

    def on_correct_button(self, ack: Ack, body: Dict[str, Any], action: Dict[str, Any], respond) -> None:
        ack()
        if not self._open_correction(body, action["value"]):
            respond(text=blocks.error_message(), response_type="ephemeral", replace_original=False)

    def _open_correction(self, body: Dict[str, Any], answer_id: str) -> bool:
        stored = self.store.answer(answer_id)
        trigger_id = body.get("trigger_id")
        if stored is None or not trigger_id:
            return False
        metadata = {"answer_id": answer_id}
        try:
            self.client.views_open(trigger_id=trigger_id, view=blocks.correction_modal(stored, metadata))
        except SlackApiError as error:
            logger.warning("Could not open the correction form: %s", error.response.get("error"))
            return False
        return True

    def on_correction(self, ack: Ack, body: Dict[str, Any], view: Dict[str, Any]) -> None:
        """The right answer from the modal: a gold span where its text is in a
        passage the bot read."""
        values = view.get("state", {}).get("values", {})
        text = ((values.get("answer") or {}).get("text") or {}).get("value") or ""
        checked = ((values.get("no_answer") or {}).get("checked") or {}).get("selected_options") or []
        no_answer = bool(checked)
        if not text.strip() and not no_answer:
            ack(response_action="errors", errors={"answer": "Type the right answer, or tick that the documents don't answer this."})
            return
        answer_id = json.loads(view.get("private_metadata") or "{}").get("answer_id")
        stored = self.store.answer(answer_id) if answer_id else None
        if stored is None:
            ack(response_action="update", view=blocks.correction_saved_modal(blocks.error_message()))
            return
        user = body.get("user", {}).get("id", "")
        found = None if no_answer else find_gold_span(text, stored["passages"], stored["passage_index"])
        if found is not None:
            index, start, gold = found
            self.store.record_correction(answer_id, user, text=gold, passage_index=index, answer_start=start)
            passage = stored["passages"][index]
            where = blocks.escape(passage.get("title") or passage.get("path") or "a passage I read")
        else:
            self.store.record_correction(answer_id, user, text=text.strip() or None, no_answer=no_answer)
            where = None
        logger.info("Recorded a correction of answer %s (%s)", answer_id, "no answer" if no_answer else "span" if found else "not located")
        ack(response_action="update", view=blocks.correction_saved_modal(blocks.correction_saved_message(where, no_answer)))

    def _ephemeral(self, body: Dict[str, Any], text: str, extra_blocks, respond) -> None:
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
        answer_id = self.store.record_answer(
            result,
            channel=question.channel,
            thread_ts=question.thread_ts,
            asked_by=question.user,
            asked_text=question.asked_text,
        )
        asked_by = question.user if question.from_command else None
        text, answer_blocks = blocks.answer_message(result, answer_id, asked_by=asked_by, read_with=question.read_with)
        if question.from_command:
            self._post_command_answer(question, answer_id, text, answer_blocks)
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

    def _post_command_answer(self, question: Question, answer_id: str, text: str, answer_blocks: List) -> None:
        """Post /ask answers in the channel so follow-ups can go in their thread;
        where the bot may not post, answer through the command's response_url."""
        try:
            response = self._post_message(channel=question.channel, text=text, blocks=answer_blocks)
        except SlackApiError as error:
            if error.response.get("error") not in NOT_POSTABLE or not question.response_url:
                raise
            WebhookClient(question.response_url).send(
                text=text, blocks=blocks.with_classic_feedback(answer_blocks), response_type="in_channel", replace_original=False
            )
            return
        self.store.set_thread(answer_id, response["channel"], response["ts"])
        self.store.add_turn(response["channel"], response["ts"], question.text, question.text)

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
