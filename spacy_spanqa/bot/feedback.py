"""Feedback: the vote vocabulary, the terminal report, and SQuAD training data.

Users vote Helpful / Not helpful on each answer; after "not helpful" they may
give the right answer. Where that text occurs in a passage the bot read, it is
a gold span with offsets. `squad_training_data` turns the stored feedback into
SQuAD v2.0 (written by `spacy_spanqa.squad.format`), which `spacy train` reads
through `spacy_spanqa.SquadReader.v1`.
Pure functions over the rows `store.BotStore` returns.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..squad.format import SquadParagraph, SquadQuestion, squad_json

HELPFUL = "helpful"
NOT_HELPFUL = "not_helpful"
VOTES = (HELPFUL, NOT_HELPFUL)


def find_gold_span(text: str, passages: Sequence[Dict[str, Any]], shown: Optional[int]) -> Optional[Tuple[int, int, str]]:
    """(passage index, start, text as in the passage) for the first occurrence of
    `text` in the shown passage, else in the other passages in rank order;
    exact match first, then ignoring case and runs of whitespace. None: in none."""
    wanted = " ".join((text or "").split())
    if not wanted:
        return None
    order = ([shown] if shown is not None and 0 <= shown < len(passages) else []) + [
        i for i in range(len(passages)) if i != shown
    ]
    for exact in (True, False):
        for i in order:
            found = _locate(wanted, passages[i].get("text") or "", exact)
            if found is not None:
                start, end = found
                return i, start, passages[i]["text"][start:end]
    return None


def _locate(wanted: str, context: str, exact: bool) -> Optional[Tuple[int, int]]:
    if exact:
        start = context.find(wanted)
        return (start, start + len(wanted)) if start >= 0 else None
    # Compare on a whitespace-collapsed, casefolded copy, mapping offsets back.
    flat, origin = [], []
    previous_space = False
    for i, ch in enumerate(context):
        if ch.isspace():
            if previous_space:
                continue
            flat.append(" ")
            previous_space = True
        else:
            flat.append(ch.lower())
            previous_space = False
        origin.append(i)
    start = "".join(flat).find(wanted.lower())
    if start < 0:
        return None
    end = start + len(wanted) - 1
    return origin[start], origin[end] + 1


def squad_training_data(rows: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """SQuAD v2.0 JSON (`squad.format.squad_json`) of `training_paragraphs(rows)`."""
    return squad_json(training_paragraphs(rows), version="v2.0")


def training_paragraphs(rows: Sequence[Dict[str, Any]]) -> List[SquadParagraph]:
    """SQuAD paragraphs from `BotStore.training_rows()`, one per distinct
    passage text, grouped by source title:

    - a correction found in a passage: that span is the gold answer; when it is
      in another passage than the one shown, the shown passage is confirmed
      wrong and becomes an unanswerable example;
    - a correction "the documents don't answer this": the shown passage (or,
      for a no-answer reply, the top passage) becomes an unanswerable example;
    - more Helpful than Not helpful votes and no correction: the shown span is gold
      (a Helpful no-answer reply: the top passage is unanswerable).
    Corrections whose text is in none of the passages read are left out (they
    are in the report, for whoever maintains the documents)."""
    articles: Dict[str, List[SquadParagraph]] = {}

    def add(passage: Dict[str, Any], qa_id: str, question: str, answer: Optional[Tuple[str, int]]) -> None:
        asked = SquadQuestion(qa_id, question, [answer] if answer is not None else [])
        title = passage.get("title") or passage.get("path") or "untitled"
        paragraphs = articles.setdefault(title, [])
        for paragraph in paragraphs:
            if paragraph.context == passage["text"]:
                paragraph.questions.append(asked)
                return
        paragraphs.append(SquadParagraph(title, passage["text"], [asked]))

    for row in rows:
        passages = row["passages"]
        if not passages:
            continue  # stored before the bot kept passages
        question, shown = row["question"], row["passage_index"]
        fix = _usable_correction(row["corrections"])
        if fix is not None and fix["no_answer"]:
            target = shown if shown is not None else 0
            add(passages[target], f"{row['id']}-none", question, None)
        elif fix is not None:
            index, start = fix["passage_index"], fix["answer_start"]
            gold = passages[index]["text"][start : start + len(fix["text"])]
            add(passages[index], row["id"], question, (gold, start))
            if shown is not None and shown != index:
                add(passages[shown], f"{row['id']}-shown", question, None)
        elif row["helpful"] > row["not_helpful"]:
            if shown is not None and row["answer_start"] is not None:
                passage = passages[shown]
                start, end = row["answer_start"], row["answer_end"]
                add(passage, row["id"], question, (passage["text"][start:end], start))
            elif shown is None:
                add(passages[0], f"{row['id']}-none", question, None)
    # One article per title: its paragraphs are consecutive, as squad_json groups them.
    return [paragraph for paragraphs in articles.values() for paragraph in paragraphs]


def _usable_correction(fixes: Sequence[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The newest correction that is a located span (its text as in the
    passage) or a "no answer"."""
    for fix in fixes:
        if fix["no_answer"] or fix["passage_index"] is not None:
            return fix
    return None


def count_examples(squad: Dict[str, Any]) -> Tuple[int, int]:
    """(answerable, unanswerable) questions in a SQuAD dict."""
    answerable = unanswerable = 0
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["is_impossible"]:
                    unanswerable += 1
                else:
                    answerable += 1
    return answerable, unanswerable


def format_summary(summary: Dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    counts = summary["votes"]
    total = sum(counts.values())
    lines = [
        f"Feedback in {summary['database']}",
        f"  answers posted: {summary['answers']} ({summary['no_answers']} without an answer)",
        f"  votes:          {total}",
    ]
    for vote, label in ((HELPFUL, "helpful"), (NOT_HELPFUL, "not helpful")):
        share = f" ({counts[vote] / total:.0%})" if total else ""
        lines.append(f"    {label + ':':<13} {counts[vote]}{share}")
    lines.append(f"  corrections:    {summary.get('corrections', 0)}")
    searched = summary.get("knowledge_bases") or {}
    if len(searched) > 1:
        lines.append("  answers by knowledge base searched: " + ", ".join(f"{name} {n}" for name, n in searched.items()))
    worst = summary["worst_rated"]
    if worst:
        lines.append("")
        lines.append("Worst-rated answers (not helpful minus helpful, highest first):")
        for row in worst:
            answer = row["answer"] if row["answer"] is not None else "(no answer)"
            if row["question"] is None:
                answer = "(answer not in this database)"
            source = row["source_title"] or row["source_path"] or row["source_url"] or "-"
            lines.append(
                f"  {row['not_helpful']} not helpful / {row['helpful']} helpful"
                f"  Q: {row['question'] or '?'}  A: {answer}  Source: {source}"
            )
    elif total:
        lines.append("")
        lines.append("No answer was voted not helpful.")
    return "\n".join(lines)
