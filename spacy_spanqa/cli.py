"""The `spanqa` command line: index, ask, evaluate, calibrate, convert, split, export-hf, serve.

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
    dense: bool = typer.Option(
        False, "--dense", help="Rank by a sentence encoder's cosine: finds paraphrases that share no word "
        "(needs `pip install spacy-spanqa[dense]`; see docs/retrieval.md)."),
    hybrid: bool = typer.Option(False, "--hybrid", help="Rank by BM25 and the sentence encoder, fused (docs/retrieval.md)."),
    bm25_only: bool = typer.Option(
        False, "--bm25", help="Rank by BM25 only (the default for a new index; turns a dense or hybrid one back)."),
    encoder: Optional[str] = typer.Option(
        None, help=f"Sentence encoder of --dense/--hybrid: a Hugging Face name or a local folder "
        f"(default: the index's own, else {IndexSettings.encoder})."),
    as_json: bool = typer.Option(False, "--json", help="Print what was indexed as one JSON object."),
):
    """Index a folder of documents with BM25 (or --dense / --hybrid); re-runs only re-read changed files."""
    from .retrieval.location import is_milvus_uri, stored_settings, sync_index

    if dense + hybrid + bm25_only > 1:
        raise ValueError("Give one of --bm25, --dense or --hybrid (--hybrid already includes the dense ranking).")
    # Without a flag, re-indexing keeps what the index already is, so a sync never drops its vectors.
    stored = stored_settings(index_path, collection)
    mode = "hybrid" if hybrid else "dense" if dense else "bm25" if bm25_only else stored.mode if stored else IndexSettings.mode
    encoder = encoder or (stored.encoder if stored else IndexSettings.encoder)
    if is_milvus_uri(index_path):
        settings = MilvusSettings(analyzer=analyzer, stopwords=stopwords, k1=k1, b=b, max_words=max_words,
                                  mode=mode, encoder=encoder)
    else:
        settings = IndexSettings(backend=backend, k1=k1, b=b, stemming=stemming, stopwords=stopwords, max_words=max_words,
                                 mode=mode, encoder=encoder)
    idx = sync_index(folder, index_path, collection, progress=True, settings=settings)
    report = idx.report.to_dict() if idx.report else {}
    if as_json:
        typer.echo(json.dumps({**idx.describe(), "sync": report}, ensure_ascii=False))
        return
    where = f"{index_path} (collection {collection})" if is_milvus_uri(index_path) else index_path
    changes = f"{len(report['read'])} file(s) read, {len(report['reused'])} unchanged, {len(report['removed'])} removed"
    how = idx.backend if mode == "bm25" else f"{idx.backend}, {mode}"
    typer.echo(f"Indexed {len(idx)} passages from {folder} into {where} ({how}): {changes}.", err=True)


@app.command()
def ask(
    question: Optional[str] = typer.Argument(
        None, help="The question. Leave it out to ask at a prompt (on a terminal) or answer stdin's lines one by one."
    ),
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
    runtime: Optional[str] = runtime_option(
        "onnx for a saved pipeline (no torch in the process; the same answers), else torch"),
):
    """Answer questions from the knowledge base, with sources.

    A saved pipeline (the shipped reader included) answers through ONNX Runtime
    without importing torch, unless --runtime torch: the same answers as
    PyTorch, in a fraction of the start-up time (its ONNX copy is made on the
    first run and cached).
    """
    from .reader.runtime import check_runtime
    from .retrieval.location import check_index

    if question is not None and questions is not None:
        raise ValueError("Give either a QUESTION or --questions FILE, not both.")
    if questions is not None:
        batch = _read_questions(questions)
    else:
        batch = [] if question is None else [question]  # none: questions come one at a time
    if any(not q.strip() for q in batch):  # checked before the slow part: loading the reader
        raise ValueError("Empty question: ask a question with at least one word.")
    if runtime is not None:
        check_runtime(runtime)
    if index_path is not None:
        check_index(index_path)
    if model is not None:
        _check_model(model)

    qa = _question_answerer(index_path, collection, model, top_k, threshold, runtime)
    if not batch:
        _answer_as_asked(qa, as_json)
        return
    for result in qa.ask_many(batch):
        if as_json or questions is not None:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            typer.echo(_format(result))


def _check_model(model: str) -> None:
    """Refuse at once a --model that names a path that does not exist (a Hub
    name or a package name is left to the loader)."""
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") > 1 or os.sep in model.replace("/", "")
    if looks_like_path and not Path(model).expanduser().exists():
        raise ValueError(f"No reader at {model}: give a pipeline directory, an installed pipeline package "
                         "or a Hugging Face QA checkpoint.")


def _question_answerer(index_path, collection, model, top_k, threshold, runtime):
    """The QuestionAnswerer `spanqa ask` uses, loaded once. A saved pipeline on
    CPU runs as a `FastReader` (ONNX Runtime, no torch in this process); a
    Hugging Face checkpoint, or --runtime torch, runs in PyTorch."""
    from .reader.loading import default_model_dir
    from .reader.onnx_cache import find_saved_reader

    saved = None if runtime == "torch" else find_saved_reader(model if model is not None else default_model_dir())
    reader = model
    if saved is not None:
        _spacy_without_torch()
        from .reader.fast_reader import FastReader

        reader = FastReader.load(saved, _cache_dir(), runtime)
    from .qa import QuestionAnswerer

    idx = index_path if index_path is not None else _default_index()
    return QuestionAnswerer(idx, model=reader, top_k=top_k, no_answer_threshold=threshold, runtime=runtime,
                            collection=collection)


def _spacy_without_torch() -> None:
    """Start thinc (so spaCy) with `import torch` failing: thinc imports torch
    whenever it can (seconds) and the ONNX reader never needs it; torch stays
    importable for anything else. Only in the `spanqa` process itself (see
    `main`), never in a process that imported the app."""
    import sys

    if _standalone and "thinc" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None  # the import system's documented way to make an import fail
        try:
            import thinc.compat  # noqa: F401
        finally:
            del sys.modules["torch"]


def _answer_as_asked(qa, as_json: bool) -> None:
    """Questions one at a time with the reader loaded once: at a prompt with
    history on a terminal, else stdin's lines. Ctrl-D or Ctrl-C ends."""
    import sys

    interactive = sys.stdin.isatty()
    if interactive:
        history = _start_history()
        typer.echo("Ask a question (Ctrl-D to quit).", err=True)
    try:
        while True:
            try:
                line = input("? ") if interactive else sys.stdin.readline()
            except EOFError:
                break
            if not interactive and not line:
                break
            if not line.strip():
                continue
            result = qa.ask(line.strip())
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False) if as_json else _one_line(result))
    except KeyboardInterrupt:
        pass
    finally:
        if interactive:
            typer.echo("", err=True)
            history()


def _start_history():
    """Load readline's history from the cache dir; returns what saves it."""
    try:
        import readline
    except ImportError:  # no readline (Windows): a plain prompt
        return lambda: None
    path = _cache_dir() / "ask_history"
    try:
        readline.read_history_file(path)
    except OSError:
        pass

    def save() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.set_history_length(1000)
        readline.write_history_file(path)

    return save


def _one_line(result) -> str:
    """The answer, its source and confidence on one line."""
    a = result.answer
    if a is not None:
        return f"{a.text}   ({a.score:.0%}, {_source(a.passage)})"
    t = result.tentative
    if t is not None:
        return f"I don't know; not sure ({t.score:.0%}): {t.text}   ({_source(t.passage)})"
    return "I don't know: no passage in the knowledge base holds an answer."


def _source(passage) -> str:
    return f"{passage.title} — {passage.url or passage.path}" if passage.title else (passage.url or passage.path)


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
    skip: int = typer.Option(0, help="Leave out the first N questions, e.g. those the reader was calibrated on."),
    threshold: Optional[float] = typer.Option(None, help="No-answer threshold on the reader score (0-1)."),
    refusal: Optional[float] = typer.Option(
        None, help='Instead of a threshold: say "no answer" to this share (0-1) of the unanswerable questions, '
        "to compare readers at the same refusal rate; the JSON gives the threshold that does it.",
    ),
    batch_size: int = typer.Option(16, help="Paragraphs per batch."),
    runtime: Optional[str] = runtime_option(),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help='Draw the reliability diagram to this PNG (needs "spacy-spanqa[plot]").'
    ),
):
    """Official SQuAD EM/F1 of a reader on a SQuAD file, the HasAns/NoAns split,
    the best no-answer threshold and the calibration table; prints one JSON object."""
    if refusal is not None and threshold is not None:
        raise ValueError("Give either --threshold or --refusal, not both.")
    from .reader.calibration import check_refusal
    from .reader.loading import load_reader
    from .squad.evaluation import evaluate as evaluate_reader
    from .squad.format import read_squad

    if refusal is not None:
        check_refusal(refusal)  # before the reader loads
    if plot is not None:
        _check_plotting()
    paragraphs = read_squad(data)
    nlp = load_reader(model, runtime)
    try:
        result = evaluate_reader(nlp, paragraphs, threshold, limit=limit, batch_size=batch_size, skip=skip,
                                 refusal=refusal)
    except ValueError as err:
        raise ValueError(f"{data}: {err}") from None
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
    antonym: float = typer.Option(
        0.5, "--antonym-negatives",
        help="Share of training questions with a word like 'first' or 'largest' also asked with its antonym, "
        "which the paragraph never uses.",
    ),
    answer_type: float = typer.Option(
        0.5, "--answer-type-negatives",
        help="Share of 'When'/'How many' training questions also asked of a paragraph of their article with no number or date.",
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
        swap=swap, antonym=antonym, answer_type=answer_type, unanswerable=unanswerable,
        parallel_facts=parallel_facts, seed=seed,
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


from .options import database_option, token_option  # noqa: E402 (spanqa serve's own)
from .serve.settings import DEFAULT_HOST as SERVE_HOST, DEFAULT_MAX_BATCH, DEFAULT_PORT as SERVE_PORT  # noqa: E402


@app.command()
def serve(
    index_path: Optional[str] = index_option(
        help=f"Index from `spanqa index`: {INDEX_HELP} (default: the example knowledge base)."
    ),
    model: Optional[str] = model_option(),
    runtime: Optional[str] = runtime_option(),
    top_k: int = top_k_option(),
    collection: str = collection_option(),
    database: Optional[str] = database_option(),
    host: str = typer.Option(SERVE_HOST, "--host", help="Address to listen on; any but loopback needs --token."),
    port: int = typer.Option(SERVE_PORT, "--port", min=1, max=65535, help="Port to listen on."),
    token: Optional[str] = token_option(),
    batch_size: int = typer.Option(DEFAULT_MAX_BATCH, "--batch-size", min=1, help="Queued questions answered per model call."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
):
    """Serve the HTTP API (POST /ask, feedback, /docs) and a web page to ask and
    to see Insights, on 127.0.0.1 unless given --host and --token."""
    from .serve.launch import ServeOptions, check_options, serve as run_server

    options = ServeOptions(
        index=index_path, model=model, runtime=runtime, top_k=top_k, collection=collection, database=database,
        host=host, port=port, token=token, batch_size=batch_size, log_level=log_level,
    )
    check_options(options)  # before anything heavy: the address and token first
    run_server(options, example_index=_default_index)


_standalone = False  # True once `main` runs: this process is the `spanqa` command


def main() -> None:
    global _standalone
    _standalone = True
    try:
        app()
    except (ValueError, FileNotFoundError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
