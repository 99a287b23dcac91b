"""Command line: `spanqa-bot --index PATH` runs the bot; `spanqa-bot feedback`
reports votes, `spanqa-bot feedback export` writes them as SQuAD training data,
`spanqa-bot report --html FILE` writes the Insights page and `spanqa-bot
manifest` prints the Slack app manifest.

Slack settings come from the environment (see `server.SlackSettings`): never
from flags, so tokens stay out of shell history and process lists.
"""
import importlib.util
import json
from pathlib import Path
from typing import List, Optional

import typer

from ..options import (
    INDEX_HELP,
    collection_option,
    database_option,
    index_option,
    model_option,
    runtime_option,
    top_k_option,
)
from .feedback import count_examples, format_summary, squad_training_data
from .launch import FAILED, USAGE_ERROR, BotOptions, LaunchError, build_bot, check_options, secrets_in
from .redaction import configure_logging
from .settings import DEFAULT_HOST, DEFAULT_MAX_BATCH, DEFAULT_MAX_QUESTION_CHARS, DEFAULT_PORT, DEFAULT_PROMPTS

cli = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A Slack bot that answers questions from a spacy-spanqa knowledge base index.",
)

MANIFEST = Path(__file__).with_name("manifest.yml")


def fail(message: str, code: int = USAGE_ERROR) -> "typer.Exit":
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def require_bot_extra(*modules: str) -> None:
    """Stops with one sentence when the packages of the `bot` extra are missing
    (a plain `pip install spacy-spanqa` has --help and the manifest, not Slack)."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise fail(f'The Slack bot needs {" and ".join(missing)}: pip install "spacy-spanqa[bot]".', code=FAILED)


@cli.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    index: Optional[str] = index_option(help=f"What `spanqa index` built: {INDEX_HELP}."),
    model: Optional[str] = model_option(),
    top_k: int = top_k_option(),
    collection: str = collection_option(),
    runtime: Optional[str] = runtime_option(),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="HTTP mode: address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="HTTP mode: port; Slack posts to /slack/events."),
    database: Optional[str] = database_option(),
    prompts: Optional[List[str]] = typer.Option(
        None, "--prompt", help="A suggested question shown when someone opens the bot's AI-app thread (repeatable, up to 4)."
    ),
    max_question_chars: int = typer.Option(
        DEFAULT_MAX_QUESTION_CHARS, "--max-question-chars", min=1, help="Longer questions are refused."
    ),
    batch_size: int = typer.Option(DEFAULT_MAX_BATCH, "--batch-size", min=1, help="Queued questions answered per model call."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    access: Optional[str] = typer.Option(
        None, "--access", envvar="SPANQA_ACCESS",
        help="Access file (TOML, or YAML): the knowledge bases and who may read each. Without it, --index is open to every member.",
    ),
    allow_guests: bool = typer.Option(False, "--allow-guests", help="Answer guests (refused by default)."),
    allow_external: bool = typer.Option(
        False, "--allow-external", help="Answer Slack Connect users from other organizations (refused by default)."
    ),
) -> None:
    """Run the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on --port
    (needs SLACK_SIGNING_SECRET). SLACK_BOT_TOKEN is always required. Guests and
    Slack Connect users are refused unless let in (--allow-guests,
    --allow-external, or the access file)."""
    if ctx.invoked_subcommand is not None:
        return
    require_bot_extra("slack_bolt", "slack_sdk", "sqlalchemy")
    options = BotOptions(
        index=index, model=model, top_k=top_k, collection=collection, runtime=runtime, database=database,
        host=host, port=port, prompts=prompts or DEFAULT_PROMPTS, max_question_chars=max_question_chars,
        batch_size=batch_size, log_level=log_level, access=access, allow_guests=allow_guests,
        allow_external=allow_external,
    )
    try:
        settings = check_options(options)
        configure_logging(log_level, secrets=secrets_in(settings, options))
        bot = build_bot(options, settings)
    except LaunchError as error:
        raise fail(str(error), code=error.exit_code)
    bot.run()


feedback_cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.add_typer(feedback_cli, name="feedback", help="Report the votes, or export them as SQuAD training data.")

FEEDBACK_INDEX_HELP = "Or the index, to use the feedback.sqlite next to it."


def knowledge_base_option():
    return typer.Option(
        None, "--knowledge-base", "--kb",
        help="Only answers from this knowledge base of the access file (repeatable); 'default' is the single --index.",
    )


def _existing_store(database: Optional[str], index: Optional[Path]):
    require_bot_extra("sqlalchemy")
    from .store import BotStore, DatabaseError, default_database_path

    if database is None and index is None:
        raise fail("Pass --database PATH_OR_URL, or --index PATH to read the feedback.sqlite next to the index.")
    try:
        return BotStore.open_existing(database or default_database_path(index))
    except DatabaseError as error:
        raise fail(str(error), code=FAILED)


@feedback_cli.callback(invoke_without_command=True)
def feedback_report(
    ctx: typer.Context,
    database: Optional[str] = database_option(),
    index: Optional[Path] = index_option(help=FEEDBACK_INDEX_HELP),
    worst: int = typer.Option(10, "--worst", min=0, help="How many worst-rated answers to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    knowledge_base: Optional[List[str]] = knowledge_base_option(),
) -> None:
    """Summarise the votes: counts per vote and the worst-rated answers
    (with --knowledge-base: of the answers that searched it)."""
    if ctx.invoked_subcommand is not None:
        return
    store = _existing_store(database, index)
    try:
        summary = store.summary(worst=worst, knowledge_bases=knowledge_base or None)
    finally:
        store.close()
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@feedback_cli.command("export")
def feedback_export(
    out: Path = typer.Argument(..., help="The SQuAD v2.0 JSON file to write."),
    output_format: str = typer.Option("squad", "--format", help="squad: SQuAD v2.0, what `spacy train` reads."),
    database: Optional[str] = database_option(),
    index: Optional[Path] = index_option(help=FEEDBACK_INDEX_HELP),
    knowledge_base: Optional[List[str]] = knowledge_base_option(),
) -> None:
    """Write helpful and corrected answers (and passages confirmed not to hold
    the answer, as unanswerable questions) as SQuAD v2.0 training data. With
    --knowledge-base, only answers that searched nothing else, so the file
    holds no text another audience may read."""
    if output_format != "squad":
        raise fail(f"Unknown --format {output_format!r}; the one format is squad (SQuAD v2.0).")
    store = _existing_store(database, index)
    try:
        squad = squad_training_data(store.training_rows(knowledge_bases=knowledge_base or None))
    finally:
        store.close()
    answerable, unanswerable = count_examples(squad)
    if not answerable and not unanswerable and knowledge_base:
        raise fail(f"No votes or corrections to export from knowledge base(s) {', '.join(knowledge_base)}.", code=FAILED)
    if not answerable and not unanswerable:
        raise fail("No votes or corrections to export yet: Helpful votes and corrected answers become training data.", code=FAILED)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(squad, indent=1, ensure_ascii=False), encoding="utf8")
    except OSError as error:
        raise fail(f"Cannot write {out}: {error.strerror or error}.", code=FAILED)
    typer.echo(f"Wrote {answerable} answerable and {unanswerable} unanswerable questions to {out} (SQuAD v2.0).")


@cli.command("report")
def report(
    html: Path = typer.Option(..., "--html", help="The HTML file to write: the Insights page, self-contained."),
    database: Optional[str] = database_option(),
    index: Optional[Path] = index_option(
        help=FEEDBACK_INDEX_HELP + " A folder index also lists the documents no answer came from."
    ),
    knowledge_base: Optional[List[str]] = knowledge_base_option(),
) -> None:
    """Write the Insights page of `spanqa serve` (questions per day, share
    answered, confidence, votes, unanswered questions, documents used and never
    used) as one HTML file that opens offline; each chart's data is a CSV link."""
    store = _existing_store(database, index)
    from ..serve.insights import documents_in_index, read_insights
    from ..serve.report import insights_html

    try:
        insights = read_insights(store, documents_in_index(str(index)) if index else None, knowledge_base or None)
    finally:
        store.close()
    try:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(insights_html(insights), encoding="utf8")
    except OSError as error:
        raise fail(f"Cannot write {html}: {error.strerror or error}.", code=FAILED)
    typer.echo(f"Wrote the insights of {insights.asked} questions to {html}.")


@cli.command("manifest")
def manifest() -> None:
    """Print the Slack app manifest: paste it at https://api.slack.com/apps
    (Create New App -> From an app manifest)."""
    typer.echo(MANIFEST.read_text(encoding="utf8"), nl=False)


def main(prog_name: str = "spanqa-bot") -> None:
    cli(prog_name=prog_name)


if __name__ == "__main__":
    main(prog_name="python -m spacy_spanqa.bot")
