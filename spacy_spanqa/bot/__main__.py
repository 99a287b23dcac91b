"""Command line: `spanqa-bot --index PATH` runs the bot; `spanqa-bot feedback`
reports votes, `spanqa-bot feedback export` writes them as SQuAD training data
and `spanqa-bot manifest` prints the Slack app manifest.

Slack settings come from the environment (see `server.SlackSettings`): never
from flags, so tokens stay out of shell history and process lists.
"""
import importlib.util
import json
import logging
import signal
from pathlib import Path
from typing import List, Optional

import typer

from .feedback import count_examples, format_summary, squad_training_data
from .redaction import configure_logging

logger = logging.getLogger("spacy_spanqa.bot")

cli = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A Slack bot that answers questions from a spacy-spanqa knowledge base index.",
)

USAGE_ERROR = 2
MANIFEST = Path(__file__).with_name("manifest.yml")


def fail(message: str, code: int = USAGE_ERROR) -> "typer.Exit":
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def require_bot_extra(*modules: str) -> None:
    """Stops with one sentence when the packages of the `bot` extra are missing
    (a plain `pip install spacy-spanqa` has --help and the manifest, not Slack)."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise fail(f'The Slack bot needs {" and ".join(missing)}: pip install "spacy-spanqa[bot]".', code=1)


@cli.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    index: Optional[str] = typer.Option(
        None, "--index", envvar="SPANQA_INDEX",
        help="What `spanqa index` built: a BM25 index folder, a Milvus Lite .db file, or a Milvus server URL (http://host:19530).",
    ),
    model: Optional[str] = typer.Option(
        None, "--model", envvar="SPANQA_MODEL", help="Reader: pipeline dir or Hugging Face QA checkpoint (default: the shipped one)."
    ),
    top_k: int = typer.Option(5, "--top-k", min=1, help="Passages retrieved and read per question."),
    collection: Optional[str] = typer.Option(
        None, "--collection", envvar="SPANQA_COLLECTION", help="Milvus collection when --index is a .db path or a URL (default: spanqa)."
    ),
    runtime: Optional[str] = typer.Option(
        None, "--runtime", envvar="SPANQA_RUNTIME",
        help="Reader on CPU: torch, onnx (same answers) or int8 (faster, ~1 F1 lower). Default: the model's setting.",
    ),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP mode: address to listen on."),
    port: int = typer.Option(3000, "--port", help="HTTP mode: port; Slack posts to /slack/events."),
    database: Optional[str] = typer.Option(
        None, "--database", "--feedback-db", envvar="SPANQA_DATABASE",
        help="Answers, votes, thread context and de-duplication: a SQLite file (default: feedback.sqlite next to "
        "the index) or a URL (postgresql://user:password@host/db). Replicas of the bot share one.",
    ),
    prompts: Optional[List[str]] = typer.Option(
        None, "--prompt", help="A suggested question shown when someone opens the bot's AI-app thread (repeatable, up to 4)."
    ),
    max_question_chars: int = typer.Option(500, "--max-question-chars", min=1, help="Longer questions are refused."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Queued questions answered per model call."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    """Run the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on --port
    (needs SLACK_SIGNING_SECRET). SLACK_BOT_TOKEN is always required."""
    if ctx.invoked_subcommand is not None:
        return
    require_bot_extra("slack_bolt", "slack_sdk", "sqlalchemy")
    from .server import SettingsError, SlackSettings, choose_runner

    try:
        settings = SlackSettings.from_env()
    except SettingsError as error:
        raise fail(str(error))
    try:
        configure_logging(log_level, secrets=[settings.signing_secret or "", _password_in(database)])
    except ValueError:
        raise fail(f"Unknown --log-level {log_level!r}; use DEBUG, INFO, WARNING or ERROR.")
    if index is None:
        raise fail("--index is required: pass the index built by `spanqa index`, or set SPANQA_INDEX.")
    remote = index.startswith(("http://", "https://"))
    if not remote and not Path(index).exists():
        raise fail(f"There is no index at {index}; build one with `spanqa index`.")
    if remote and database is None:
        raise fail("With a Milvus server URL as --index, give --database (a SQLite file or a PostgreSQL URL) for the bot's answers and feedback.")

    client = settings.web_client()
    try:
        identity = client.auth_test()
    except Exception as error:  # SlackApiError, or no connection at all
        raise fail(_auth_failure(error, settings.api_url), code=1)
    logger.info("Signed in to Slack as %s in %s", identity.get("user"), identity.get("team"))
    store = _open_store(database or default_database_path(index))
    logger.info("Recording answers, feedback and thread context in %s", store.name)

    from spacy_spanqa.qa import QuestionAnswerer  # slow (loads torch): after the cheap checks

    try:
        answerer = QuestionAnswerer(index, model=model, top_k=top_k, runtime=runtime, **({"collection": collection} if collection else {}))
    except ValueError as error:
        store.close()
        raise fail(str(error))
    except OSError as error:
        store.close()
        raise fail(f"Could not load the index or model: {error}.", code=1)

    from .app import DEFAULT_PROMPTS, create_app

    app = create_app(
        answerer,
        client=client,
        signing_secret=settings.signing_secret,
        store=store,
        max_question_chars=max_question_chars,
        max_batch=batch_size,
        suggested_prompts=prompts or DEFAULT_PROMPTS,
    )
    try:
        runner = choose_runner(app, settings, host=host, port=port)
    except OSError as error:
        store.close()
        raise fail(f"Cannot listen on {host}:{port}: {error.strerror or error}.", code=1)
    logger.info("Answering questions via %s", "Socket Mode" if settings.socket_mode else "HTTP")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        runner.start()
    except KeyboardInterrupt:
        logger.info("Stopping")
    finally:
        runner.close()
        store.close()


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # stop serving the same way as Ctrl-C: close the runner and the database


def _auth_failure(error: Exception, api_url: str) -> str:
    response = getattr(error, "response", None)
    if response is not None:
        code = response.get("error")
        return f"Slack rejected SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token again from https://api.slack.com/apps."
    return f"Could not reach the Slack API at {api_url} ({type(error).__name__}); check the network or SLACK_API_URL."


def _password_in(database: Optional[str]) -> str:
    """The password of a database URL (kept out of the log), or ""."""
    if not database or "://" not in database:
        return ""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database).password or ""
    except ArgumentError:
        return ""


def _open_store(where):
    from .store import BotStore, DatabaseError  # SQLAlchemy: only where a database is used

    try:
        return BotStore(where)
    except DatabaseError as error:
        raise fail(str(error), code=1)


def default_database_path(index: Path) -> Path:
    from .store import default_database_path as next_to_index

    return next_to_index(index)


feedback_cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.add_typer(feedback_cli, name="feedback", help="Report the votes, or export them as SQuAD training data.")

DATABASE_OPTION = typer.Option(
    None, "--database", "--feedback-db", envvar="SPANQA_DATABASE", help="The bot's database: SQLite file or URL."
)
INDEX_OPTION = typer.Option(None, "--index", envvar="SPANQA_INDEX", help="Or the index, to use the feedback.sqlite next to it.")


def _existing_store(database: Optional[str], index: Optional[Path]):
    require_bot_extra("sqlalchemy")
    from .store import BotStore, DatabaseError

    if database is None and index is None:
        raise fail("Pass --database PATH_OR_URL, or --index PATH to read the feedback.sqlite next to the index.")
    try:
        return BotStore.open_existing(database or default_database_path(index))
    except DatabaseError as error:
        raise fail(str(error), code=1)


@feedback_cli.callback(invoke_without_command=True)
def feedback_report(
    ctx: typer.Context,
    database: Optional[str] = DATABASE_OPTION,
    index: Optional[Path] = INDEX_OPTION,
    worst: int = typer.Option(10, "--worst", min=0, help="How many worst-rated answers to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise the votes: counts per vote and the worst-rated answers."""
    if ctx.invoked_subcommand is not None:
        return
    store = _existing_store(database, index)
    try:
        summary = store.summary(worst=worst)
    finally:
        store.close()
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@feedback_cli.command("export")
def feedback_export(
    out: Path = typer.Argument(..., help="The SQuAD v2.0 JSON file to write."),
    output_format: str = typer.Option("squad", "--format", help="squad: SQuAD v2.0, what `spacy train` reads."),
    database: Optional[str] = DATABASE_OPTION,
    index: Optional[Path] = INDEX_OPTION,
) -> None:
    """Write helpful and corrected answers (and passages confirmed not to hold
    the answer, as unanswerable questions) as SQuAD v2.0 training data."""
    if output_format != "squad":
        raise fail(f"Unknown --format {output_format!r}; the one format is squad (SQuAD v2.0).")
    store = _existing_store(database, index)
    try:
        squad = squad_training_data(store.training_rows())
    finally:
        store.close()
    answerable, unanswerable = count_examples(squad)
    if not answerable and not unanswerable:
        raise fail("No votes or corrections to export yet: Helpful votes and corrected answers become training data.", code=1)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(squad, indent=1, ensure_ascii=False), encoding="utf8")
    except OSError as error:
        raise fail(f"Cannot write {out}: {error.strerror or error}.", code=1)
    typer.echo(f"Wrote {answerable} answerable and {unanswerable} unanswerable questions to {out} (SQuAD v2.0).")


@cli.command("manifest")
def manifest() -> None:
    """Print the Slack app manifest: paste it at https://api.slack.com/apps
    (Create New App -> From an app manifest)."""
    typer.echo(MANIFEST.read_text(encoding="utf8"), nl=False)


def main(prog_name: str = "spanqa-bot") -> None:
    cli(prog_name=prog_name)


if __name__ == "__main__":
    main(prog_name="python -m spacy_spanqa.bot")
