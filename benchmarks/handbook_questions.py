"""Questions in a colleague's own words over the shipped example knowledge
base, end to end (retrieval + reader at its own threshold), for one or more
readers side by side:

    python benchmarks/handbook_questions.py --model NEW --model OLD [--index DIR]

25 answerable questions that mostly avoid the handbook's wording ("maternity
leave" for "parental leave", "head office" for "headquarters") and 12 it cannot
answer. An answer is right when it contains the expected words. Counts:
right / refused ("I don't know") / wrong, and how many of the unanswerable
ones are refused; for the refused answerable ones, whether the reader's best
span was right, and its score. The questions were written by the team after
reading the handbook, so they measure progress, not a hidden test.
"""
import argparse
from typing import List, Optional

from spacy_spanqa.cli import _default_index
from spacy_spanqa.qa import QuestionAnswerer
from spacy_spanqa.results import QAResult

ANSWERABLE = [
    ("How long is maternity leave?", "16 weeks"),
    ("Where is the head office?", "Berlin"),
    ("How much holiday do I get as a new starter?", "25"),
    ("How many days can I be off sick with pay?", "10"),
    ("When do I need a sick note from a doctor?", "three consecutive"),
    ("How many hours a week do we work?", "38"),
    ("When are the core hours?", "10:00 to 15:00"),
    ("How often can I work from home?", "three days"),
    ("When do we get paid?", "last working day"),
    ("Who runs HR?", "Amara Okafor"),
    ("What's the email for IT problems?", "help@northwind.example"),
    ("How long do I have to hand in my receipts?", "30 days"),
    ("Which app do I use for expenses?", "Ledgerly"),
    ("How much can I spend on food per day when travelling?", "40 euros"),
    ("How much money do I get for training courses each year?", "1,500 euros"),
    ("What time should I show up on my first day?", "9:30"),
    ("How long is the trial period?", "six months"),
    ("When is the monthly company meeting?", "first Thursday"),
    ("Who is in charge of data privacy?", "Henrik Larsen"),
    ("What is the maximum value of a present I can keep?", "50 euros"),
    ("How long must my password be?", "14 characters"),
    ("Who leads the help desk?", "Priya Raman"),
    ("How often do we get a new laptop?", "every three years"),
    ("Who started the company?", "Jonas Weber"),
    ("How many people work at Northwind?", "240"),
]
UNANSWERABLE = [
    "Who is the CEO?", "How much is the annual bonus?", "Can I bring my dog to the office?",
    "What is the Wi-Fi password?", "How many vacation days do managers get?", "Where is the Paris office?",
    "Who leads the sales team?", "What is the pension contribution?", "When does the Madrid office open?",
    "How much does the company pay for a gym membership?", "What is the dress code?",
    "Who is the chief financial officer?",
]


def judge(results: List[QAResult], verbose: bool) -> dict:
    counts = {"right": 0, "refused": 0, "wrong": 0, "refused, best span right": 0, "unanswerable refused": 0}
    for (question, expected), result in zip(ANSWERABLE, results):
        best = result.answer or result.tentative
        best_right = best is not None and expected.lower() in best.text.lower()
        verdict = ("right" if best_right else "wrong") if result.answer else "refused"
        counts[verdict] += 1
        counts["refused, best span right"] += verdict == "refused" and best_right
        if verbose:
            shown = f"{best.text!r} {best.score:.2f}" if best else "-"
            print(f"  {verdict:8s} {question}  {shown}")
    for question, result in zip(UNANSWERABLE, results[len(ANSWERABLE):]):
        counts["unanswerable refused"] += result.answer is None
        if verbose and result.answer:
            print(f"  ANSWERED {question}  {result.answer.text!r} {result.answer.score:.2f}")
    return counts


def main(models: List[Optional[str]], index: Optional[str], verbose: bool) -> None:
    retriever = index or _default_index()
    questions = [q for q, _ in ANSWERABLE] + UNANSWERABLE
    for model in models:
        # tentative_floor 0: every refused question keeps its best span, to see how close it came.
        qa = QuestionAnswerer(retriever, model=model, runtime="torch", tentative_floor=0.0)
        print(f"{model or 'shipped reader'} (threshold {qa.no_answer_threshold:.3f}):")
        counts = judge(qa.ask_many(questions), verbose)
        print(f"  answerable: {counts['right']} right, {counts['refused']} refused "
              f"({counts['refused, best span right']} of them with the right best span), {counts['wrong']} wrong "
              f"of {len(ANSWERABLE)}; unanswerable refused: {counts['unanswerable refused']}/{len(UNANSWERABLE)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None,
                        help="pipeline dir (repeat to compare; default: the shipped reader)")
    parser.add_argument("--index", default=None, help="index (default: the example knowledge base, BM25)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every question's answer")
    args = parser.parse_args()
    main(args.model or [None], args.index, args.verbose)
