"""Block Kit: the bot's messages and modals (answers, feedback buttons, the
correction form) and its short texts (hints, refusals, thanks).

Everything here is pure (no Slack calls) so it can be tested on its own. It
reads results through `spacy_spanqa.results` (`QAResult`, `Answer`, `Passage`).
Feedback uses Slack's native feedback buttons (`context_actions` +
`feedback_buttons`, from slack_sdk's models); clients or workspaces that
reject them get the same votes as classic buttons.
"""
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from slack_sdk.models.blocks import ContextActionsBlock, FeedbackButtonsElement
from slack_sdk.models.blocks.basic_components import FeedbackButtonObject

from .._moved import moved
from ..results import Answer, Passage, QAResult, RetrievedPassage
from .audience import EXTERNAL, GUEST, NOTHING_FOR_YOU, NOTHING_HERE, SHARED_CHANNEL, UNKNOWN_USER
from .feedback import HELPFUL, NOT_HELPFUL
from .slack_text import escape, link_target

# Native feedback buttons: action_id FEEDBACK_ACTION, value "vote:answer id".
# Classic buttons: action_id FEEDBACK_ACTION + "_" + vote, value the answer id.
FEEDBACK_ACTION = "spanqa_feedback"
CORRECT_ACTION = "spanqa_correct"
CORRECTION_CALLBACK = "spanqa_correction"

# Characters of passage text shown on each side of the answer span.
EXCERPT_CONTEXT_CHARS = 280
# Slack rejects section text over 3,000 characters; stay below with room for markup.
MAX_SECTION_CHARS = 2900
MAX_SOURCES = 3

Block = Dict[str, Any]


# ---------------------------------------------------------------------------
# Pieces of an answer


def percent(score: Optional[float]) -> str:
    return "n/a" if score is None else f"{round(float(score) * 100)}%"


def source_label(passage: Passage) -> str:
    """What a passage's source is called: its title, else its file path."""
    return (passage.title or "").strip() or (passage.path or "").strip() or "untitled document"


def source_mrkdwn(passage: Passage) -> str:
    """`<url|title>` when the passage has a URL, else the title in bold and the
    file path in code; the title falls back to the path."""
    path = (passage.path or "").strip()
    url = (passage.url or "").strip()
    label = source_label(passage)
    if url:
        text = f"<{link_target(url)}|{escape(label)}>"
    else:
        text = f"*{escape(label)}*"
    if path and path != label:
        text += f" `{escape(path)}`"
    return text


def _bold(text: str) -> str:
    """Bold a span of (already escaped) text. Slack bold cannot cross a line
    break or start/end on whitespace, so each line is bolded on its own with
    its surrounding whitespace kept outside the asterisks."""
    pieces = []
    for line in text.split("\n"):
        core = line.strip()
        if not core:
            pieces.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()):]
        pieces.append(f"{lead}*{core}*{trail}")
    return "\n".join(pieces)


def _joiner(neighbour: str) -> str:
    # Slack ignores asterisks inside a word; a zero-width space next to them
    # makes a span that starts or ends mid-word render bold all the same.
    return "\u200b" if neighbour.isalnum() else ""


def _trim_start(text: str) -> str:
    # Start the excerpt on a word boundary.
    cut = text.find(" ")
    return text[cut + 1:] if 0 <= cut < 40 else text


def _trim_end(text: str) -> str:
    cut = text.rfind(" ")
    return text[:cut] if cut > len(text) - 40 else text


def highlight_excerpt(
    text: str, start: int, end: int, context_chars: int = EXCERPT_CONTEXT_CHARS
) -> str:
    """The passage around characters [start, end) with that span in bold, cut to
    `context_chars` on each side (with an ellipsis) and escaped for mrkdwn."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    while True:
        left_from = max(0, start - context_chars)
        right_to = min(len(text), end + context_chars)
        left = text[left_from:start]
        right = text[end:right_to]
        if left_from > 0:
            left = "…" + _trim_start(left)
        if right_to < len(text):
            right = _trim_end(right) + "…"
        excerpt = escape(left) + _joiner(left[-1:]) + _bold(escape(text[start:end])) + _joiner(right[:1]) + escape(right)
        if len(excerpt) <= MAX_SECTION_CHARS or context_chars == 0:
            break
        context_chars //= 2
    if len(excerpt) > MAX_SECTION_CHARS:  # only a huge answer span gets here
        excerpt = excerpt[: MAX_SECTION_CHARS - 1] + "…"
    return _quote(excerpt)


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.split("\n"))


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = _trim_end(flat[:limit]) + "…"
    return escape(flat)


# ---------------------------------------------------------------------------
# Whole messages


def native_feedback(answer_id: str) -> Block:
    """Slack's own thumbs up / down, as in AI apps."""
    element = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION,
        positive_button=FeedbackButtonObject(text="Helpful", accessibility_label="This answer was helpful", value=f"{HELPFUL}:{answer_id}"),
        negative_button=FeedbackButtonObject(
            text="Not helpful", accessibility_label="This answer was not helpful", value=f"{NOT_HELPFUL}:{answer_id}"
        ),
    )
    return ContextActionsBlock(block_id="spanqa_feedback", elements=[element]).to_dict()


def feedback_actions(answer_id: str) -> Block:
    """Classic buttons: the fallback where native feedback buttons are rejected."""
    return {
        "type": "actions",
        "block_id": "spanqa_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": f"{FEEDBACK_ACTION}_{HELPFUL}",
                "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
                "value": answer_id,
            },
            {
                "type": "button",
                "action_id": f"{FEEDBACK_ACTION}_{NOT_HELPFUL}",
                "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
                "value": answer_id,
            },
        ],
    }


def parse_feedback_action(action: Dict[str, Any]) -> Tuple[str, str]:
    """(vote, answer id) from a click on either kind of feedback button."""
    value = action.get("value") or ""
    action_id = action.get("action_id") or ""
    if action_id == FEEDBACK_ACTION and ":" in value:
        vote, _, answer_id = value.partition(":")
        return vote, answer_id
    return action_id[len(FEEDBACK_ACTION) + 1:], value


def with_classic_feedback(blocks: List[Block]) -> List[Block]:
    """The same message with native feedback buttons swapped for classic ones."""
    out = []
    for block in blocks:
        if block.get("type") == "context_actions":
            value = block["elements"][0]["positive_button"]["value"]
            out.append(feedback_actions(value.partition(":")[2]))
        else:
            out.append(block)
    return out


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _asked_by(user: Optional[str], question: str) -> List[Block]:
    if not user:
        return []
    return [_context(f"<@{user}> asked: {_snippet(question, 400)}")]


def answer_message(
    result: QAResult,
    answer_id: Optional[str] = None,
    asked_by: Optional[str] = None,
    read_with: Optional[str] = None,
    native_feedback_buttons: bool = True,
) -> Tuple[str, List[Block]]:
    """(notification text, blocks) for a QAResult: the answer in bold, the
    passage with the answer highlighted, its source and confidence; or, when
    there is no answer, a plain "I don't know" with the closest sources.
    `asked_by` repeats the question with its asker (for /ask, whose question
    is not visible in the channel). `read_with`: the earlier question a
    follow-up was read with; the reply says how it was read."""
    answer = result.answer
    blocks = _asked_by(asked_by, result.question)
    if read_with:
        blocks.append(_context(f"Read with the earlier question as: _{_snippet(result.question, 300)}_"))
    if answer is None:
        text = "I couldn't find an answer to that in the knowledge base."
        blocks.append(_section(f":shrug: {text}"))
        blocks.extend(tentative_blocks(result.tentative))
        sources = closest_sources(result.passages)
        if sources:
            blocks.append(_section("*Closest sources:*\n" + "\n".join(sources)))
        else:
            blocks.append(_context("No document matched any word of the question."))
    else:
        answer_text = " ".join(answer.text.split()) or answer.text
        text = f"Answer: {answer_text} (source: {source_label(answer.passage)})"
        blocks.append(_section(_bold(escape(answer_text))))
        blocks.append(_section(highlight_excerpt(answer.passage.text, answer.start_char, answer.end_char)))
        details = f"Source: {source_mrkdwn(answer.passage)}  ·  Confidence: {percent(answer.score)}"
        others = [c for c in result.candidates[:2] if c.text.strip()]
        if others:
            details += "  ·  Other candidates: " + ", ".join(
                f"{_snippet(c.text, 60)} ({percent(c.score)})" for c in others
            )
        blocks.append(_context(details))
    if answer_id:
        blocks.append(native_feedback(answer_id) if native_feedback_buttons else feedback_actions(answer_id))
    return text, blocks


def tentative_blocks(tentative: Optional[Answer]) -> List[Block]:
    """The reader's best span below the no-answer threshold, marked as a guess:
    "Not sure (confidence 12%): the closest passage says …" with the span in
    bold, and its source. Never shown as the answer."""
    if tentative is None or tentative.passage is None or not tentative.text.strip():
        return []
    passage = tentative.passage
    return [
        _section(
            f":grey_question: *Not sure* (confidence {percent(tentative.score)}): the closest passage says\n"
            + highlight_excerpt(passage.text, tentative.start_char, tentative.end_char)
        ),
        _context(f"Source: {source_mrkdwn(passage)}  ·  Too unsure to be the answer: check the source."),
    ]


def closest_sources(passages: Sequence[RetrievedPassage], limit: int = MAX_SOURCES) -> List[str]:
    """One bullet per distinct source document of the retrieved passages, best first."""
    lines, seen = [], set()
    for retrieved in passages:
        passage = retrieved.passage
        key = (passage.path, passage.url, passage.title)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"• {source_mrkdwn(passage)} — _{_snippet(passage.text, 120)}_")
        if len(lines) == limit:
            break
    return lines


# Why a question was not answered (audience.py's reasons), one sentence each:
# no passage, source or "closest sources" list.
REFUSALS = {
    GUEST: "Sorry, I only answer questions from full members of this workspace, so I can't help with that.",
    EXTERNAL: "Sorry, I only answer questions from people in this organization, so I can't help with that.",
    UNKNOWN_USER: "Sorry, I couldn't confirm who is asking, so I didn't answer; please try again in a few minutes.",
    NOTHING_HERE: "Sorry, none of the knowledge I can search is open to this channel; try asking me in a direct message.",
    SHARED_CHANNEL: (
        "Sorry, I don't answer from the knowledge base in channels shared with other organizations; "
        "try asking me in a direct message."
    ),
    NOTHING_FOR_YOU: "Sorry, none of the knowledge I can search is shared with you, so I can't answer that.",
}


def refusal_message(reason: str) -> str:
    """One polite sentence saying why a question was not answered."""
    return REFUSALS.get(reason, REFUSALS[UNKNOWN_USER])


def hint_message(bot_user_id: Optional[str] = None) -> str:
    mention = f"<@{bot_user_id}>" if bot_user_id else "me"
    return (
        f"Ask me a question about the knowledge base, for example {mention} _how many vacation days do I get?_ "
        "— or use `/ask how many vacation days do I get?`"
    )


def too_long_message(length: int, limit: int) -> str:
    return (
        f"That question is {length} characters long and I only take questions up to {limit}; "
        "I didn't answer it — could you ask it more briefly?"
    )


def error_message(reason: Optional[str] = None) -> str:
    if reason:
        return f":warning: Sorry, I couldn't answer that: {escape(reason)}"
    return (
        ":warning: Sorry, something went wrong while I was looking that up. "
        "It has been logged; please try again in a moment."
    )


def busy_message() -> str:
    return ":hourglass: I'm answering a lot of questions right now; please ask again in a minute."


def working_message(question: str) -> str:
    return f":hourglass_flowing_sand: Looking up: _{_snippet(question, 400)}_"


def thanks_message(vote: str) -> str:
    if vote == HELPFUL:
        return ":thumbsup: Thanks — glad it helped. Your feedback was recorded."
    return ":memo: Thanks — your feedback was recorded and helps us improve the answers."


def correction_prompt(answer_id: str) -> Tuple[str, List[Block]]:
    """The ephemeral "what is the right answer?" prompt, for when the modal
    could not be opened straight away."""
    text = ":memo: Thanks — your feedback was recorded. Do you know the right answer? It helps train the reader."
    button = {
        "type": "button",
        "action_id": CORRECT_ACTION,
        "text": {"type": "plain_text", "text": "Give the right answer"},
        "value": answer_id,
    }
    return text, [_section(text), {"type": "actions", "block_id": "spanqa_correct", "elements": [button]}]


def correction_modal(stored: Dict[str, Any], metadata: Dict[str, Any]) -> Dict[str, Any]:
    """A modal asking for the right answer to a stored answer."""
    shown = stored.get("answer")
    summary = f"*Question:* {_snippet(stored['question'], 500)}\n*My answer:* " + (
        f"{_snippet(shown, 300)} (from {escape(stored.get('source_title') or stored.get('source_path') or 'a document')})"
        if shown else "_I said I couldn't find one._"
    )
    return {
        "type": "modal",
        "callback_id": CORRECTION_CALLBACK,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "The right answer"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(summary),
            {
                "type": "input",
                "block_id": "answer",
                "optional": True,
                "label": {"type": "plain_text", "text": "The right answer, copied from the document"},
                "hint": {
                    "type": "plain_text",
                    "text": "Words exactly as the document has them: when I read that passage, it becomes a training example.",
                },
                "element": {"type": "plain_text_input", "action_id": "text", "max_length": 500},
            },
            {
                "type": "input",
                "block_id": "no_answer",
                "optional": True,
                "label": {"type": "plain_text", "text": "Or"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "checked",
                    "options": [
                        {"text": {"type": "plain_text", "text": "The documents don't answer this question"}, "value": "no_answer"}
                    ],
                },
            },
        ],
    }


def correction_saved_modal(message: str) -> Dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Thanks"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [_section(message)],
    }


def correction_saved_message(found_in: Optional[str], no_answer: bool) -> str:
    if no_answer:
        return ":memo: Saved: the documents don't answer this. It becomes an unanswerable training example."
    if found_in:
        return f":white_check_mark: Saved as a training example — found in {found_in}."
    return (
        ":memo: Saved. That text is not in the passages I read, so it can't train the reader yet; "
        "it is kept for whoever maintains the documents."
    )


def greeting_message() -> str:
    return (
        "Hi! I answer questions from the team's documents, with a quote and its source. "
        "Ask me anything, or pick a question below."
    )


def thread_title(question: str, limit: int = 60) -> str:
    """A short title for an AI-app thread: its first question."""
    flat = " ".join(question.split())
    return flat if len(flat) <= limit else _trim_end(flat[:limit]) + "…"


# Slack text helpers lived here until 0.3.
__getattr__ = moved(__name__, {
    "unescape": "spacy_spanqa.bot.slack_text",
    "question_from_text": "spacy_spanqa.bot.slack_text",
    "looks_like_question": "spacy_spanqa.bot.slack_text",
})
