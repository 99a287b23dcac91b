"""Follow-up questions read with their thread's earlier question.

"When did the Lisbon office open?" then "What about the Toronto one?": the
second is read as "When did the Toronto office open?", for retrieval and for
the reader alike. A follow-up that stands on its own ("What is the meal
allowance?") is read as it is. Only the previous question is used, and it was
itself resolved when asked, so a long thread keeps a short query.

Pure functions, no Slack and no model: `resolve(question, previous)`.
"""
import re
from dataclasses import dataclass
from typing import List, Optional

# Openers of an elliptical follow-up: the rest is what changes.
_ELLIPSIS = re.compile(
    r"^(?:and\s+|but\s+|ok(?:ay)?,?\s+|so\s+)?(?:what|how)\s+about\s+(?P<rest>.+)$"
    r"|^(?:and|but)\s+(?:what\s+of|for|in|at|with)?\s*(?P<rest2>.+)$"
    r"|^(?:same|likewise)\s+(?:for|with|in)\s+(?P<rest3>.+)$"
    r"|^what\s+of\s+(?P<rest4>.+)$",
    re.IGNORECASE,
)
# Words that point back at something named earlier.
_ANAPHORA = {"it", "its", "they", "them", "their", "theirs", "there", "he", "him", "his", "she", "her", "hers", "same"}
# "that"/"this"/... point back only when nothing follows them ("Who approves that?").
_DEMONSTRATIVES = {"that", "this", "these", "those"}
_STOP = {
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "by", "with", "from", "and", "or", "but", "as",
    "is", "are", "was", "were", "be", "been", "do", "does", "did", "have", "has", "had", "can", "could",
    "should", "would", "will", "may", "might", "must", "shall", "i", "me", "my", "we", "our", "you", "your",
    "what", "when", "where", "who", "whom", "whose", "which", "why", "how", "many", "much", "long", "about",
    "also", "so", "then", "any", "some", "not", "no", "there", "one", "ones", "get", "got", "please", "ok", "okay",
}
_WORD = re.compile(r"[\w][\w'’-]*")
MAX_TOPIC_WORDS = 8


@dataclass
class Reading:
    """How a question is read: `question` goes to retrieval and the reader;
    `context` is the earlier question it was read with (None: on its own)."""

    question: str
    context: Optional[str] = None

    @property
    def used_context(self) -> bool:
        return self.context is not None


def resolve(question: str, previous: Optional[str], max_chars: int = 500) -> Reading:
    """Read `question` with the thread's `previous` (already resolved) question
    when it needs it; the result is at most `max_chars` long."""
    question = question.strip()
    if not previous or not needs_context(question):
        return Reading(question)
    previous = previous.strip()
    rest = _elliptical_rest(question)
    if rest is not None:
        rewritten = _substitute(previous, rest)
    else:
        rewritten = _replace_pronoun(question, previous)
    if rewritten is None:
        rewritten = _with_topic(question, previous)
    if len(rewritten) > max_chars:
        rewritten = _with_topic(question, previous)[:max_chars].rstrip()
    return Reading(rewritten, context=previous)


def needs_context(question: str) -> bool:
    """True for a question that cannot be read alone: an elliptical one ("What
    about Toronto?", "And sick days?") or one that points back ("Do they carry
    over?", "Who approves that?") with few words of its own."""
    text = question.strip()
    if not text:
        return False
    if _elliptical_rest(text) is not None:
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    own = [w for w in words if w not in _STOP and w not in _ANAPHORA and w not in _DEMONSTRATIVES]
    pointing = any(w in _ANAPHORA for w in words) or _ends_with_demonstrative(words)
    return pointing and len(own) <= 3


def _ends_with_demonstrative(words: List[str]) -> bool:
    return bool(words) and words[-1] in _DEMONSTRATIVES


def _elliptical_rest(question: str) -> Optional[str]:
    match = _ELLIPSIS.match(question.strip().rstrip("?!. "))
    if not match:
        return None
    rest = next(g for g in match.groups() if g)
    rest = rest.strip(" ,")
    # "And how many sick days?" is a full question after "and": not elliptical.
    first = rest.split()[0].lower() if rest.split() else ""
    if first in {"what", "when", "where", "who", "which", "why", "how", "is", "are", "do", "does", "did", "can", "could"}:
        return None
    return rest or None


def _substitute(previous: str, rest: str) -> Optional[str]:
    """Put `rest` ("the Toronto one", "sick days") in the place of its
    counterpart in `previous`, or None when there is no clear counterpart."""
    words = rest.split()
    while words and words[0].lower() in {"the", "a", "an", "our", "your"}:
        words = words[1:]
    if words and words[-1].lower() in {"one", "ones"}:
        words = words[:-1]  # "the Toronto one": the noun is the previous question's
    if not words:
        return None
    names = [w for w in words if _is_name(w)]
    if names:
        # Swap the previous question's name(s) for the new one(s): Lisbon -> Toronto.
        old = _name_runs(previous)
        if len(old) == 1:
            start, end = old[0]
            return previous[:start] + " ".join(names) + previous[end:]
        return None
    # Same head noun: "vacation days" -> "sick days".
    head = words[-1].lower()
    tokens = list(_WORD.finditer(previous))
    for i, token in enumerate(tokens):
        if token.group().lower() == head:
            first = max(0, i - (len(words) - 1))
            start = tokens[first].start()
            return previous[:start] + " ".join(words) + previous[token.end():]
    return None


# "Who is the head of the People team?": what the question is about.
_SUBJECT = re.compile(r"^(?:who|what|where|which)\s+(?:is|are|was|were)\s+(?P<np>(?:the|a|an|our|your)\s+.+?)\s*\?*$", re.IGNORECASE)
_OBJECT_PRONOUNS = {"it", "they", "them", "he", "him", "she", "her"}
_POSSESSIVES = {"its", "their", "his"}


def _replace_pronoun(question: str, previous: str) -> Optional[str]:
    """"How do I contact them?" after "Who is the head of the People team?":
    "How do I contact the head of the People team?". None when the previous
    question does not name its subject plainly or the follow-up has no single pronoun."""
    match = _SUBJECT.match(previous.strip())
    if not match:
        return None
    subject = match.group("np")
    found = [t for t in _WORD.finditer(question) if t.group().lower() in _OBJECT_PRONOUNS | _POSSESSIVES]
    if len(found) != 1:
        return None
    token = found[0]
    replacement = subject + ("'s" if token.group().lower() in _POSSESSIVES else "")
    rewritten = question[: token.start()] + replacement + question[token.end():]
    return rewritten[0].upper() + rewritten[1:] if token.start() == 0 else rewritten


def _is_name(word: str) -> bool:
    core = word.strip(",.?!;:'\"()")
    return bool(core) and (core[0].isupper() or core[0].isdigit())


def _name_runs(text: str) -> List[tuple]:
    """Character ranges of runs of capitalised words or numbers, skipping the
    question's first word (capitalised because it starts the sentence)."""
    runs: List[List[int]] = []
    tokens = list(_WORD.finditer(text))
    for i, token in enumerate(tokens):
        if i == 0 or not _is_name(token.group()) or token.group().upper() == "I":
            continue
        if runs and tokens[i - 1].end() == runs[-1][1] and text[runs[-1][1]:token.start()].strip() == "":
            runs[-1][1] = token.end()
        else:
            runs.append([token.start(), token.end()])
    return [tuple(r) for r in runs]


def _with_topic(question: str, previous: str) -> str:
    """The follow-up with the earlier question's own words in front: retrieval
    finds the same documents, and the reader sees what "it" is."""
    topic = [w for w in _WORD.findall(previous) if w.lower() not in _STOP][:MAX_TOPIC_WORDS]
    if not topic:
        return question
    return f"{' '.join(topic)}: {question}"
