"""The `spanqa` command line: index, ask, evaluate, calibrate, convert, split, export-hf.

Thin commands: each checks its arguments, calls the library and prints. The
options it shares with `spanqa-bot` are declared once in `options.py`.
"""
import json
import os
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    help="Extractive question answering over your documents with spaCy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

from .options import INDEX_HELP, collection_option, index_option, model_option, runtime_option, top_k_option
from .retrieval.settings import IndexSettings, MilvusSettings

EXAMPLE_KB = Path(__file__).parent / "example_kb"


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "spacy-spanqa"


def _default_index():
    """The shipped example knowledge base, indexed on first use (cheap: a few files)."""
    from .retrieval.bm25 import BM25Index

    return BM25Index.build(EXAMPLE_KB, _cache_dir() / "example_kb.idx", progress=False)



@app.command()
def index(
    folder: Path = typer.Argument(..., help="Knowledge base folder (txt, md, html, pdf, json, jsonl, SQuAD)."),
    index_path: str = typer.Option(..., "--index", "-i", help=f"Where to keep the index: {INDEX_HELP}."),
    collection: str = collection_option(),
    backend: str = typer.Option(IndexSettings.backend, help="Folder index: bm25s (fast, default) or rank-bm25."),
    analyzer: str = typer.Option(
        MilvusSettings.analyzer, help="Milvus: snowball (the folder index's stemmed tokens, made here; measured best), "
        "standard (Milvus's, no stemming) or english (Milvus's stemming; a server only)."),
    max_words: int = typer.Option(IndexSettings.max_words, help="Word budget of a passage."),
    k1: float = typer.Option(IndexSettings.k1, help="BM25 term-frequency saturation."),
    b: float = typer.Option(IndexSettings.b, help="BM25 length normalisation."),
    stemming: bool = typer.Option(IndexSettings.stemming, help="Folder index: Snowball-stem English words."),
    stopwords: bool = typer.Option(
        IndexSettings.stopwords, help="Drop English stopwords (off: measured better recall; on: faster Milvus Lite queries)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was indexed as one JSON object."),
):
    """Index a folder of documents with BM25; re-runs only re-read changed files."""
    from .retrieval.location import is_milvus_uri, sync_index

    if is_milvus_uri(index_path):
        settings = MilvusSettings(analyzer=analyzer, stopwords=stopwords, k1=k1, b=b, max_words=max_words)
    else:
        settings = IndexSettings(backend=backend, k1=k1, b=b, stemming=stemming, stopwords=stopwords, max_words=max_words)
    idx = sync_index(folder, index_path, collection, progress=True, settings=settings)
    report = idx.report.to_dict() if idx.report else {}
    if as_json:
        typer.echo(json.dumps({**idx.describe(), "sync": report}, ensure_ascii=False))
        return
    where = f"{index_path} (collection {collection})" if is_milvus_uri(index_path) else index_path
    changes = f"{len(report['read'])} file(s) read, {len(report['reused'])} unchanged, {len(report['removed'])} removed"
    typer.echo(f"Indexed {len(idx)} passages from {folder} into {where} ({idx.backend}): {changes}.", err=True)


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question."),
    index_path: Optional[str] = index_option(
        help=f"Index from `spanqa index`: {INDEX_HELP} (default: the example knowledge base)."
    ),
    collection: str = collection_option(),
    model: Optional[str] = model_option(),
    top_k: int = top_k_option(),
    questions: Optional[Path] = typer.Option(
        None, "--questions", help="File of questions: one per line, or JSONL with a 'question' field."
    ),
    threshold: Optional[float] = typer.Option(None, help="No-answer threshold on the reader score (0-1)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one line per question)."),
    runtime: Optional[str] = runtime_option(),
):
    """Answer questions from the knowledge base, with sources."""
    from .reader.runtime import check_runtime
    from .retrieval.location import check_index

    if (question is None) == (questions is None):
        raise ValueError("Give either a QUESTION or --questions FILE (one of the two).")
    batch = [question] if questions is None else _read_questions(questions)
    if any(not q.strip() for q in batch):  # checked before the slow part: loading the reader
        raise ValueError("Empty question: ask a question with at least one word.")
    if runtime is not None:
        check_runtime(runtime)
    if index_path is not None:
        check_index(index_path)

    from .qa import QuestionAnswerer

    idx = index_path if index_path is not None else _default_index()
    qa = QuestionAnswerer(idx, model=model, top_k=top_k, no_answer_threshold=threshold, runtime=runtime,
                          collection=collection)
    results = qa.ask_many(batch)
    for result in results:
        if as_json or questions is not None:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            typer.echo(_format(result))


def _read_questions(path: Path) -> List[str]:
    if not path.is_file():
        raise ValueError(f"Questions file not found: {path}.")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                line = json.loads(line)["question"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{path}:{n} is not a JSON object with a 'question' field.") from None
        out.append(line)
    if not out:
        raise ValueError(f"{path} holds no questions.")
    return out


def _format(result) -> str:
    a = result.answer
    if a is None:
        lines = [f"Q: {result.question}", "A: I don't know: no passage in the knowledge base holds an answer."]
        t = result.tentative
        if t is not None:
            lines.append(f"Not sure (confidence {t.score:.0%}): the closest passage says: {_highlight(t)}")
            lines.append(f"  (from {t.passage.title} — {t.passage.url or t.passage.path})")
        if result.passages:
            lines.append("Closest sources: " + "; ".join(r.passage.title or r.passage.path for r in result.passages[:3]))
        return "\n".join(lines)
    p = a.passage
    return "\n".join(
        [f"Q: {result.question}", f"A: {a.text}   (confidence {a.score:.0%})",
         f"Source: {p.title} — {p.url or p.path}", f"Passage: {_highlight(a)}"]
    )


def _highlight(a) -> str:
    """The answer's passage with the answer in **bold**."""
    text = a.passage.text
    return text[: a.start_char] + "**" + text[a.start_char : a.end_char] + "**" + text[a.end_char :]


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", "-d", help="SQuAD v1.1/v2.0 JSON file."),
    model: Optional[str] = model_option(),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write predictions {id: answer} here."),
    na_prob_file: Optional[Path] = typer.Option(
        None, "--na-prob-file", help="Write {id: probability of no answer} here (the official script's input)."
    ),
    limit: int = typer.Option(0, help="Evaluate only the first N questions (0: all)."),
    threshold: Optional[float] = typer.Option(None, help="No-answer threshold on the reader score (0-1)."),
    batch_size: int = typer.Option(16, help="Paragraphs per batch."),
    runtime: Optional[str] = runtime_option(),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help='Draw the reliability diagram to this PNG (needs "spacy-spanqa[plot]").'
    ),
):
    """Official SQuAD EM/F1 of a reader on a SQuAD file, the HasAns/NoAns split,
    the best no-answer threshold and the calibration table; prints one JSON object."""
    from .reader.loading import load_reader
    from .squad.evaluation import evaluate as evaluate_reader
    from .squad.format import read_squad

    if plot is not None:
        _check_plotting()
    paragraphs = read_squad(data)
    nlp = load_reader(model, runtime)
    result = evaluate_reader(nlp, paragraphs, threshold, limit=limit, batch_size=batch_size)
    if plot is not None:
        from .squad.plots import plot_reliability

        plot_reliability({data.name: result.scores["calibration"]}, plot)
        typer.echo(f"Drew {plot}", err=True)
    if output is not None:
        output.write_text(json.dumps(result.predictions, ensure_ascii=False), encoding="utf8")
    if na_prob_file is not None:
        na_prob_file.write_text(json.dumps(result.na_probs), encoding="utf8")
    _print_calibration(result.scores["calibration"])
    typer.echo(json.dumps(_rounded(result.scores)))


@app.command()
def calibrate(
    data: Path = typer.Option(..., "--data", "-d", help="Held-out SQuAD file, ideally with unanswerable questions."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to save the calibrated pipeline."),
    model: Optional[str] = model_option(),
    limit: int = typer.Option(0, help="Use only the first N questions (0: all)."),
    batch_size: int = typer.Option(16, help="Paragraphs per batch."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help='Draw the reliability diagram before and after to this PNG (needs "spacy-spanqa[plot]").'
    ),
):
    """Fit the reader's confidence (score_scale, score_bias) and its no-answer
    threshold (best F1) on held-out questions; save the pipeline with them."""
    from .reader.loading import load_reader
    from .squad.evaluation import calibrate as calibrate_reader
    from .squad.format import read_squad

    paragraphs = read_squad(data)
    nlp = load_reader(model)
    if plot is not None:
        _check_plotting()
    report = calibrate_reader(nlp, paragraphs, limit=limit, batch_size=batch_size)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    if plot is not None:
        from .squad.plots import plot_reliability

        tables = {"before": report.before["calibration"], "after": report.after["calibration"]}
        plot_reliability(tables, plot, f"Reliability on {report.questions} questions of {data.name}")
        typer.echo(f"Drew {plot}", err=True)
    _print_calibration(report.after["calibration"])
    keys = ("f1", "HasAns_f1", "NoAns_f1", "NoAns_refused", "ece")
    typer.echo(json.dumps(_rounded({
        **report.calibration.to_dict(), "questions": report.questions,
        "before": {k: report.before.get(k) for k in keys}, "after": {k: report.after.get(k) for k in keys},
        "tentative": report.after["tentative"],
    })))


def _check_plotting() -> None:
    """Before the slow reading: a plot that cannot be drawn is said at once."""
    import importlib.util

    from .squad.plots import INSTALL

    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError(INSTALL)


def _print_calibration(bins) -> None:
    typer.echo("score bin   questions  mean score  right", err=True)
    for b in bins:
        typer.echo(f"{b['range']:<11} {b['count']:>9}  {b['mean_score']:>10.3f}  {b['accuracy']:>5.3f}", err=True)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@app.command()
def convert(
    squad: Path = typer.Argument(..., help="SQuAD JSON file."),
    output: Path = typer.Argument(..., help="Output .spacy file for `spacy evaluate`."),
):
    """Convert SQuAD JSON to a .spacy corpus (questions and answers on each Doc)."""
    import spacy
    from spacy.tokens import DocBin

    from .reader.corpus import doc_with_questions
    from .squad.format import read_squad

    nlp = spacy.blank("en")
    db = DocBin(store_user_data=True)
    for p in read_squad(squad):
        db.add(doc_with_questions(nlp.make_doc(p.context), p.questions, True))
    db.to_disk(output)
    typer.echo(f"Wrote {len(db)} contexts to {output}.", err=True)


@app.command()
def split(
    inputs: List[Path] = typer.Argument(..., help="SQuAD JSON files."),
    train_out: Path = typer.Option(..., help="Training file to write."),
    dev_dir: Path = typer.Option(..., help="Folder for the held-out files (see below)."),
    dev_fraction: float = typer.Option(0.1, help="Share of paragraphs held out."),
    on_topic: float = typer.Option(
        0.3, "--on-topic-negatives",
        help="Share of answerable training questions also asked of their own paragraph with the answer sentences removed.",
    ),
    retrieval: float = typer.Option(
        0.2, "--retrieval-negatives",
        help="Share of answerable training questions also asked of the best BM25 paragraph that lacks the answer.",
    ),
    swap: float = typer.Option(
        0.5, "--swap-negatives",
        help="Share of answerable training questions also asked with a name or number swapped for one the paragraph lacks.",
    ),
    unanswerable: float = typer.Option(
        0.0, help="Share of training questions also asked of another paragraph of the same article."
    ),
    parallel_facts: int = typer.Option(
        0, help="Paragraphs of parallel facts ('Paris is the capital of France. Berlin is ...') added to training; "
        "a fifth as many, with other names and relations, go to DEV_DIR/dev_parallel_facts.json.",
    ),
    seed: int = typer.Option(13),
):
    """Split SQuAD files into train/dev by paragraph (no context leaks) and add
    generated unanswerable questions.

    Writes TRAIN_OUT (all inputs' training paragraphs plus negatives) and, in
    DEV_DIR, per input `dev_<name>.json` (its held-out paragraphs as they are)
    and `dev_<name>_negatives.json` (the same plus one generated unanswerable
    question per answerable one: a third of each kind), and the mixed
    `dev_all.json` / `dev_all_negatives.json`.
    """
    from .squad.splits import make_splits

    counts = make_splits(
        inputs, train_out, dev_dir, dev_fraction=dev_fraction, on_topic=on_topic, retrieval=retrieval,
        swap=swap, unanswerable=unanswerable, parallel_facts=parallel_facts, seed=seed,
    )
    for name, n_train, n_dev in counts.per_input:
        typer.echo(f"{name}: {n_train} train / {n_dev} dev paragraphs", err=True)
    typer.echo(counts.summary(), err=True)


@app.command("export-hf")
def export_hf(
    output: Path = typer.Argument(..., help="Directory for the Hugging Face model and tokenizer."),
    model: Optional[str] = model_option(),
):
    """Export a reader's weights as a Hugging Face QA checkpoint."""
    from .reader.model import get_tokenizer, get_transformer
    from .reader.loading import get_span_qa, load_reader

    reader = get_span_qa(load_reader(model))
    get_transformer(reader.model).save_pretrained(str(output))
    get_tokenizer(reader.model).save_pretrained(str(output))
    typer.echo(f"Saved {output}", err=True)


def main() -> None:
    try:
        app()
    except (ValueError, FileNotFoundError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
