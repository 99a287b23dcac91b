"""How often gold answers cross a sentence boundary (spaCy's sentencizer), per
SQuAD file: the evidence for keeping the reader's answers inside one sentence.

    python benchmarks/answer_boundaries.py ../shared/data/squadshifts/*.json ../shared/data/extra/*.json
"""
import sys
import warnings
from pathlib import Path

from spacy_spanqa.sentences import sentence_spans
from spacy_spanqa.squad.format import read_squad


def main(paths) -> None:
    warnings.simplefilter("ignore")  # re-anchored offsets are counted by read_squad's warning
    print(f"{'file':<32} {'answers':>8} {'cross a sentence':>17}")
    for path in paths:
        n = cross = 0
        for p in read_squad(path):
            sentences = sentence_spans(p.context)
            for q in p.questions:
                for text, start in q.answers[:1]:  # the first gold answer, as training uses
                    end = start + len(text)
                    n += 1
                    cross += not any(s <= start and end <= e for s, e in sentences)
        print(f"{Path(path).name:<32} {n:>8} {cross / max(n, 1):>16.2%}")


if __name__ == "__main__":
    main(sys.argv[1:])
