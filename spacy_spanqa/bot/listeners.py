"""The bolt listeners: each acknowledges at once and hands the question on.

Questions come from @-mentions, direct messages, follow-ups in threads the bot
was asked in, `/ask`, and Slack's AI-app threads (bolt's `Assistant`: a
greeting with suggested prompts, a status while answering, a thread title).
Which messages are questions is said by bolt matchers (`from_a_person`,
`reply_in_a_thread`, ...), not by early returns. A question is read with its
thread's earlier question (`followups.py`), marked with a reaction and put on
the `AnswerQueue`; `replies.py` posts the answer. Votes and corrections go to
the store. `register_listeners(app, listeners)` wires it all.

Before anything else, the `AudienceGate` (`audience.py`) says which knowledge
bases the question may search, from who asks and where the answer will be
read; a guest, an outsider or a place with no knowledge gets one sentence.
Membership events drop what the gate cached about a channel or user group.
"""
import json
import logging
import re
import time
from typing import Any, Callable, Dict, Optional, Sequence

from slack_bolt import Ack, App, Assistant, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import blocks
from .answer_queue import AnswerQueue
from .audience import NOTHING_FOR_YOU, NOTHING_HERE, Asker, AudienceGate, Place
from .feedback import NOT_HELPFUL, VOTES, find_gold_span
from .followups import resolve
from .replies import Question, Replies
from .settings import DEFAULT_MAX_QUESTION_CHARS, DEFAULT_PROMPTS, MAX_PROMPTS
from .slack_text import escape, looks_like_question, mentions, question_from_text
from .store import BotStore
from .thread_order import ThreadOrder

logger = logging.getLogger(__name__)

WORKING_STATUS = "Searching the knowledge base…"
# A DM's top-level messages have no thread: an earlier question counts as context for this long.
DM_CONTEXT_SECONDS = 15 * 60
# Message subtypes that carry a person's new question; edits, joins, bot
# messages and the like are skipped.
QUESTION_SUBTYPES = {None, "thread_broadcast", "file_share"}


# -- matchers: which events are questions -------------------------------------------


def from_a_person(event: Dict[str, Any]) -> bool:
    """False for bot messages, edits, deletions, joins and other subtypes."""
    return not event.get("bot_id") and event.get("subtype") in QUESTION_SUBTYPES and bool(event.get("user"))


def in_direct_message(event: Dict[str, Any]) -> bool:
    return event.get("channel_type") == "im"


def reply_in_a_thread(event: Dict[str, Any]) -> bool:
    """A message in a thread, not the thread's first message."""
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts")


def not_mentioning_the_bot(event: Dict[str, Any], context) -> bool:
    """A mention is answered by its app_mention event, not by the message event."""
    return not mentions(event.get("text"), context.bot_user_id)


def reads_as_a_question(event: Dict[str, Any], context) -> bool:
    """"thanks!" in the thread is not a question."""
    return looks_like_question(question_from_text(event.get("text"), context.bot_user_id))


def register_listeners(app: App, listeners: "Listeners") -> None:
    """Attach the bot's middleware and listeners to `app`. Bolt runs the first
    listener whose matchers all match; the catch-alls last acknowledge every
    other message (bolt would answer 404, and Slack retry)."""
    app.use(listeners.skip_repeated_events)
    assistant = Assistant()
    assistant.thread_started(listeners.greet)
    assistant.user_message(matchers=[from_a_person])(listeners.on_assistant_message)
    assistant.thread_context_changed(listeners.on_assistant_context_changed)
    app.assistant(assistant)
    app.event("app_mention", matchers=[from_a_person])(listeners.on_mention)
    app.event("message", matchers=[from_a_person, in_direct_message])(listeners.on_direct_message)
    app.event(
        "message",
        matchers=[from_a_person, reply_in_a_thread, not_mentioning_the_bot, reads_as_a_question],
    )(listeners.on_thread_reply)
    app.event("app_mention")(ignore)
    app.event("message")(ignore)
    app.command("/ask")(ack=listeners.ack_ask, lazy=[listeners.answer_ask])
    app.event("member_joined_channel")(listeners.on_membership_changed)
    app.event("member_left_channel")(listeners.on_membership_changed)
    app.event("subteam_members_changed")(listeners.on_usergroup_changed)
    app.event("subteam_updated")(listeners.on_usergroup_changed)
    app.event("user_change")(listeners.on_user_changed)
    app.action(re.compile("^" + re.escape(blocks.FEEDBACK_ACTION)))(listeners.on_feedback)
    app.action(blocks.CORRECT_ACTION)(listeners.on_correct_button)
    app.view(blocks.CORRECTION_CALLBACK)(listeners.on_correction)
    app.error(listeners.on_error)


def ignore() -> None:
    """Every other message or mention: acknowledged, not answered."""


class Listeners:
    """The listeners, sharing the Slack client, the answer queue, the replies,
    the store and the audience gate.

    max_question_chars: longer questions are refused, not truncated.
    suggested_prompts: offered when someone opens the bot's AI-app thread.
    """

    def __init__(
        self,
        client: WebClient,
        answers: AnswerQueue,
        replies: Replies,
        store: BotStore,
        gate: AudienceGate,
        *,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
        suggested_prompts: Sequence[str] = DEFAULT_PROMPTS,
    ):
        self.client = client
        self.answers = answers
        self.replies = replies
        self.store = store
        self.gate = gate
        self.max_question_chars = max_question_chars
        self.suggested_prompts = list(suggested_prompts)[:MAX_PROMPTS]
        self.order = ThreadOrder()

    # -- global middleware ---------------------------------------------------------------

    def skip_repeated_events(self, body: Dict[str, Any], next, logger: logging.Logger):
        """Acknowledge an event id some replica took before (a Slack retry,
        possibly of one still being answered) without running any listener.
        A mention marks its thread as asked here, before the 200, so that a
        follow-up sent at once is taken (the mention's listener runs later),
        and after the mention (`ThreadOrder`)."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.store.claim(f"event:{event_id}"):
            logger.info("Skipping repeated event %s", event_id)
            return BoltResponse(status=200, body="")
        event = body.get("event") or {}
        if event_id and event.get("type") == "app_mention" and event.get("channel") and event.get("ts"):
            self.store.note_asked(event["channel"], _mention_thread(event))
            if from_a_person(event):  # on_mention will take it
                self.order.note(event["channel"], _mention_thread(event), event["ts"])
        return next()

    # -- events ----------------------------------------------------------------

    def on_mention(self, event: Dict[str, Any], body: Dict[str, Any], context) -> None:
        in_dm = event["channel"].startswith("D")  # DMs are answered at the top level, like message.im
        thread_ts = event.get("thread_ts") or (None if in_dm else event["ts"])
        try:
            self._take_message(event, body, context.bot_user_id, thread_ts=thread_ts)
        finally:
            self.order.taken(event["channel"], _mention_thread(event), event["ts"])

    def on_direct_message(self, event: Dict[str, Any], body: Dict[str, Any], context) -> None:
        """Reply in the conversation, or in the thread asked in."""
        self._take_message(event, body, context.bot_user_id, thread_ts=event.get("thread_ts"))

    def on_thread_reply(self, event: Dict[str, Any], body: Dict[str, Any], context) -> None:
        """A question in a channel thread: a follow-up when the bot was asked
        in that thread before (restarts and other replicas see it). Looked up
        here, after the ack, not in a matcher: matchers run before Slack gets
        its 200, and a question asked a moment earlier is recorded meanwhile."""
        if self.store.asked_in_thread(event["channel"], event["thread_ts"]):
            self._take_message(event, body, context.bot_user_id, thread_ts=event["thread_ts"])

    # -- what the audience gate caches ----------------------------------------------

    def on_membership_changed(self, event: Dict[str, Any]) -> None:
        """Someone joined or left a channel: look its members up again next time."""
        if event.get("channel"):
            self.gate.directory.forget_channel(event["channel"])

    def on_usergroup_changed(self, event: Dict[str, Any]) -> None:
        group = event.get("subteam_id") or (event.get("subteam") or {}).get("id")
        if group:
            self.gate.directory.forget_usergroup(group)

    def on_user_changed(self, event: Dict[str, Any]) -> None:
        """A user became (or stopped being) a guest, or was deactivated."""
        user = (event.get("user") or {}).get("id")
        if user:
            self.gate.directory.forget_user(user)

    # -- Slack's AI-app threads (bolt's Assistant) ------------------------------------

    def greet(self, say, set_suggested_prompts, payload: Dict[str, Any], body: Dict[str, Any]) -> None:
        user = (payload.get("assistant_thread") or {}).get("user_id")
        refusal = self.gate.refusal_for(_asker(user, payload, body)) if user else None
        if refusal is not None:
            logger.info("Refused to greet %s: %s", user, refusal)
            say(blocks.refusal_message(refusal))
            return
        say(blocks.greeting_message())
        if self.suggested_prompts:
            try:
                set_suggested_prompts(prompts=self.suggested_prompts, title="Try asking:")
            except SlackApiError as error:
                logger.warning("Could not set suggested prompts: %s", error.response.get("error"))

    def on_assistant_context_changed(self) -> None:
        """The user switched channels beside the panel: answers come from the
        knowledge base whatever they look at, so there is nothing to keep
        (bolt's default would store it in message metadata)."""

    def on_assistant_message(self, payload: Dict[str, Any], body: Dict[str, Any], context, set_status, set_title) -> None:
        """A question in an AI-app thread (or any DM thread): title the thread
        on its first question, show a status while answering."""

        def show_progress(question: Question) -> None:
            try:
                if question.first_in_thread:
                    set_title(blocks.thread_title(question.text))
                set_status(WORKING_STATUS)
            except SlackApiError as error:
                # Not an AI-app thread (a thread in a plain DM), or the assistant:write scope is missing.
                logger.debug("Assistant status/title not set: %s", error.response.get("error"))

        self._take_message(payload, body, context.bot_user_id, thread_ts=payload.get("thread_ts"), on_queued=show_progress)

    # -- /ask ----------------------------------------------------------------

    def ack_ask(self, ack: Ack, command: Dict[str, Any], context) -> None:
        text = question_from_text(command.get("text"), context.bot_user_id)
        ack(self._problem_with(text, context.bot_user_id) or blocks.working_message(text))

    def answer_ask(self, command: Dict[str, Any], context) -> None:
        text = question_from_text(command.get("text"), context.bot_user_id)
        if self._problem_with(text, context.bot_user_id):
            return  # the acknowledgement already said what is wrong
        channel = command["channel_id"]
        # /ask in a DM (the bot's or anyone's) is scoped to the asker; in a channel or group DM, to the place.
        private = channel.startswith("D") or command.get("channel_name") == "directmessage"
        question = Question(
            text=text,
            channel=channel,
            user=command.get("user_id"),
            thread_ts=None,
            response_url=command.get("response_url"),
            from_command=True,
            private_to_asker=private,
        )
        if self._admit(question, Asker(command.get("user_id") or ""), Place(channel, private)):
            self._queue(question)

    # -- feedback ----------------------------------------------------------------

    def on_feedback(self, ack: Ack, body: Dict[str, Any], action: Dict[str, Any], respond) -> None:
        ack()
        vote, answer_id = blocks.parse_feedback_action(action)
        if vote not in VOTES:
            logger.warning("Ignoring an unknown feedback action %r", action.get("action_id"))
            return
        refusal = self._feedback_refusal(body, answer_id)
        if refusal is not None:
            self.replies.ephemeral(body, blocks.refusal_message(refusal), None, respond)
            return
        user = body.get("user", {}).get("id", "")
        self.store.record_vote(answer_id, user, vote)
        logger.info("Recorded a %s vote on answer %s", vote, answer_id)
        if vote == NOT_HELPFUL and self._open_correction(body, answer_id):
            return  # the modal asks for the right answer and thanks them
        text, prompt = (
            blocks.correction_prompt(answer_id) if vote == NOT_HELPFUL else (blocks.thanks_message(vote), None)
        )
        self.replies.ephemeral(body, text, prompt, respond)

    def on_correct_button(self, ack: Ack, body: Dict[str, Any], action: Dict[str, Any], respond) -> None:
        ack()
        refusal = self._feedback_refusal(body, action["value"])
        if refusal is not None:
            respond(text=blocks.refusal_message(refusal), response_type="ephemeral", replace_original=False)
            return
        if not self._open_correction(body, action["value"]):
            respond(text=blocks.error_message(), response_type="ephemeral", replace_original=False)

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
        refusal = self._feedback_refusal(body, None) if stored is not None else None
        if refusal is not None:
            ack(response_action="update", view=blocks.correction_saved_modal(blocks.refusal_message(refusal)))
            return
        if stored is None:
            ack(response_action="update", view=blocks.correction_saved_modal(blocks.error_message()))
            return
        user = body.get("user", {}).get("id", "")
        found = None if no_answer else find_gold_span(text, stored["passages"], stored["passage_index"])
        if found is not None:
            index, start, gold = found
            self.store.record_correction(answer_id, user, text=gold, passage_index=index, answer_start=start)
            passage = stored["passages"][index]
            where = escape(passage.get("title") or passage.get("path") or "a passage I read")
        else:
            self.store.record_correction(answer_id, user, text=text.strip() or None, no_answer=no_answer)
            where = None
        logger.info("Recorded a correction of answer %s (%s)", answer_id, "no answer" if no_answer else "span" if found else "not located")
        ack(response_action="update", view=blocks.correction_saved_modal(blocks.correction_saved_message(where, no_answer)))

    def on_error(self, error: Exception, body: Dict[str, Any]) -> None:
        logger.error("Unhandled error in a listener: %s", error, exc_info=error)

    # -- taking a question ---------------------------------------------------------

    def _take_message(
        self,
        event: Dict[str, Any],
        body: Dict[str, Any],
        bot_user_id: Optional[str],
        thread_ts: Optional[str],
        on_queued: Optional[Callable[[Question], None]] = None,
    ) -> None:
        # app_mention and message events arrive for the same message, perhaps at different replicas.
        if not self.store.claim(f"message:{event['channel']}:{event['ts']}"):
            return
        # A DM with the bot (and the AI-app thread, which is one) is read by the asker only.
        private = event["channel"].startswith("D") or event.get("channel_type") == "im"
        question = Question(
            text=question_from_text(event.get("text"), bot_user_id),
            channel=event["channel"],
            user=event.get("user"),
            thread_ts=thread_ts,
            message_ts=event["ts"],
            private_to_asker=private,
        )
        shared = body.get("is_ext_shared_channel")
        place = Place(event["channel"], private, shared if isinstance(shared, bool) else None)
        problem = self._problem_with(question.text, bot_user_id)
        if problem:
            self.replies.text(question, problem)
            return
        # Read and answered after the thread's earlier questions.
        if thread_ts and not self.order.wait_for_earlier(question.channel, thread_ts, question.message_ts):
            logger.warning("An earlier question in thread %s was not taken in time; taking %s anyway", thread_ts, question.message_ts)
        # Recorded before the (slower) audience check, so that a replica taking
        # a follow-up finds it; the follow-up is checked on its own.
        self._read_in_context(question)
        if not self._admit(question, _asker(event.get("user"), event, body), place):
            return
        if on_queued is not None:
            on_queued(question)
        self.replies.mark(question)
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

    def _problem_with(self, text: str, bot_user_id: Optional[str]) -> Optional[str]:
        if not text:
            return blocks.hint_message(bot_user_id)
        if len(text) > self.max_question_chars:
            return blocks.too_long_message(len(text), self.max_question_chars)
        return None

    def _admit(self, question: Question, asker: Asker, place: Place) -> bool:
        """Settle which knowledge bases the question may search; False (and one
        sentence to the asker) when none."""
        scope = self.gate.scope_for(asker, place)
        if not scope.allowed:
            logger.info("Refused a question from %s in %s: %s", asker.user, place.channel, scope.refusal)
            self.replies.refuse(question, blocks.refusal_message(scope.refusal or NOTHING_FOR_YOU))
            return False
        question.knowledge_bases = scope.knowledge_bases
        return True

    def _feedback_refusal(self, body: Dict[str, Any], answer_id: Optional[str]) -> Optional[str]:
        """Why a click or form may not count: a guest or outsider (unless let in),
        or an answer posted in another conversation than the one clicked in."""
        user = body.get("user") or {}
        refusal = self.gate.refusal_for(Asker(user.get("id") or "", user.get("team_id")))
        if refusal is not None:
            logger.info("Ignored feedback from %s: %s", user.get("id"), refusal)
            return refusal
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        stored = self.store.answer(answer_id) if answer_id else None
        if stored is not None and channel and stored.get("channel") and stored["channel"] != channel:
            logger.warning("Ignored feedback from %s in %s on an answer posted in %s", user.get("id"), channel, stored["channel"])
            return NOTHING_HERE
        return None

    def _queue(self, question: Question) -> None:
        if not self.answers.submit(
            question.text, lambda outcome: self.replies.deliver(question, outcome), knowledge_bases=question.knowledge_bases
        ):
            logger.warning("Answer queue full; turned a question away")
            self.replies.unmark(question)
            self.replies.text(question, blocks.busy_message())

    def _open_correction(self, body: Dict[str, Any], answer_id: str) -> bool:
        stored = self.store.answer(answer_id)
        trigger_id = body.get("trigger_id")
        if stored is None or not trigger_id:
            return False
        try:
            self.client.views_open(trigger_id=trigger_id, view=blocks.correction_modal(stored, {"answer_id": answer_id}))
        except SlackApiError as error:
            logger.warning("Could not open the correction form: %s", error.response.get("error"))
            return False
        return True


def _mention_thread(event: Dict[str, Any]) -> str:
    """The thread a mention is asked in: its own, or the one it starts."""
    return event.get("thread_ts") or event["ts"]


def _asker(user: Optional[str], event: Dict[str, Any], body: Dict[str, Any]) -> Asker:
    """Who asked, with the team the event says they are from (`user_team` in a
    shared channel) and the installations it was delivered for."""
    return Asker(user or "", event.get("user_team"), tuple(body.get("authorizations") or ()))
