"""Starting the bot, apart from the command line.

`check_options` checks what `spanqa-bot` was given and reads the Slack
settings from the environment; `build_bot` signs in to Slack, opens the
database, loads the answerer and builds the app with its runner. Both raise
`LaunchError` (one sentence for the user and an exit code) instead of printing
or exiting, so they are tested without typer; `__main__.serve` only turns them
into output. Cheap checks come first: the reader (torch) loads last.
"""
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Union

from ..results import Answerer
from ..retrieval.location import is_milvus_uri, is_server_uri
from .access import AccessFileError, AccessPolicy, read_access_file, single_index_policy
from ..retrieval.settings import DEFAULT_COLLECTION, DEFAULT_TOP_K
from .settings import (
    DEFAULT_HOST,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_QUESTION_CHARS,
    DEFAULT_PORT,
    DEFAULT_PROMPTS,
)

if TYPE_CHECKING:  # Slack and SQLAlchemy load in the functions, once `spanqa-bot` knows the bot extra is there
    from slack_bolt import App

    from .server import Runner, SlackSettings
    from .store import BotStore

logger = logging.getLogger("spacy_spanqa.bot")

USAGE_ERROR = 2  # the options or settings are wrong
FAILED = 1  # they are right, but Slack, the database, the model or the port said no


class LaunchError(Exception):
    """Why the bot cannot start: one sentence for the user, and the exit code."""

    def __init__(self, message: str, exit_code: int = USAGE_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class BotOptions:
    """What `spanqa-bot` runs with: its command-line options (Slack settings come from the environment)."""

    index: Optional[str]  # a BM25 index folder, a Milvus Lite .db path or a Milvus server URL
    model: Optional[str] = None  # the reader; None: the shipped one
    top_k: int = DEFAULT_TOP_K
    collection: str = DEFAULT_COLLECTION  # Milvus only
    runtime: Optional[str] = None  # torch, onnx or int8; None: the pipeline's setting
    database: Optional[str] = None  # SQLite file or URL; None: feedback.sqlite next to the index
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    prompts: Sequence[str] = DEFAULT_PROMPTS
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    batch_size: int = DEFAULT_MAX_BATCH
    log_level: str = "INFO"
    access: Optional[str] = None  # the access file: knowledge bases and their audiences
    allow_guests: bool = False  # guests may ask (added to the access file's setting)
    allow_external: bool = False  # Slack Connect users may ask

    @property
    def database_location(self) -> Union[str, Path]:
        from .store import default_database_path

        if self.database:
            return self.database
        if self.access and not self.index:
            return Path(self.access).expanduser().resolve().parent / "feedback.sqlite"
        return default_database_path(self.index)


def access_policy(options: BotOptions) -> AccessPolicy:
    """The knowledge bases and audiences the options give: the access file's,
    or the single --index open to every member. LaunchError (naming the file
    and line) for a malformed access file."""
    if options.access is None:
        return single_index_policy(
            options.index or "", options.collection,
            allow_guests=options.allow_guests, allow_external=options.allow_external,
        )
    try:
        policy = read_access_file(options.access)
    except AccessFileError as error:
        raise LaunchError(str(error)) from None
    if policy.knowledge_bases and options.index:
        raise LaunchError(
            f"{options.access} lists knowledge bases and --index names another; drop --index (or SPANQA_INDEX), "
            "or add it to the access file."
        )
    if not policy.knowledge_bases:
        if not options.index:
            raise LaunchError(f"{options.access} lists no knowledge_bases; add them, or give --index for one open to every member.")
        single = single_index_policy(options.index, options.collection)
        policy = AccessPolicy(single.knowledge_bases, policy.allow_guests, policy.allow_external, policy.cache_seconds, policy.source)
    return policy.with_opt_ins(options.allow_guests, options.allow_external)


def check_options(options: BotOptions, env: Optional[Mapping[str, str]] = None) -> "SlackSettings":
    """The Slack settings from `env` (default: the environment), once they and
    `options` make sense; raises LaunchError with the first problem found."""
    from .server import SettingsError, SlackSettings

    try:
        settings = SlackSettings.from_env(env)
    except SettingsError as error:
        raise LaunchError(str(error)) from None
    if not isinstance(logging.getLevelName(options.log_level.upper()), int):  # what logging.setLevel takes
        raise LaunchError(f"Unknown --log-level {options.log_level!r}; use DEBUG, INFO, WARNING or ERROR.")
    if options.runtime is not None:
        from ..reader.runtime import check_runtime  # no torch: refused before the reader loads

        try:
            check_runtime(options.runtime)
        except ValueError as error:
            raise LaunchError(str(error)) from None
    if options.access is not None:
        access_policy(options)  # the file and its indexes, checked before anything loads
        if options.index is None:
            return settings
    index = options.index
    if index is None:
        raise LaunchError("--index is required: pass the index built by `spanqa index`, or set SPANQA_INDEX.")
    remote = is_server_uri(index)
    if not remote and not Path(index).exists():
        raise LaunchError(f"There is no index at {index}; build one with `spanqa index`.")
    if remote and options.database is None:
        raise LaunchError(
            "With a Milvus server URL as --index, give --database (a SQLite file or a PostgreSQL URL) "
            "for the bot's answers and feedback."
        )
    return settings


def secrets_in(settings: "SlackSettings", options: BotOptions) -> List[str]:
    """What the log must never show besides tokens: the signing secret and the database password."""
    return [s for s in (settings.signing_secret, _password_in(options.database)) if s]


@dataclass
class Bot:
    """The app, the runner that serves it and the database it writes to."""

    app: "App"
    runner: "Runner"
    store: "BotStore"
    socket_mode: bool

    def run(self) -> None:
        """Serve until Ctrl-C or SIGTERM, then close the runner and the database."""
        logger.info("Answering questions via %s", "Socket Mode" if self.socket_mode else "HTTP")
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            self.runner.start()
        except KeyboardInterrupt:
            logger.info("Stopping")
        finally:
            self.close()

    def close(self) -> None:
        self.runner.close()
        self.store.close()


def build_bot(
    options: BotOptions, settings: "SlackSettings", answerer: Union[Answerer, Mapping[str, Answerer], None] = None
) -> Bot:
    """Sign in to Slack, read the access policy, open the database, load the
    answerers (unless given: one, or one per knowledge base name) and build the
    app and its runner; nothing is served yet. Raises LaunchError, having
    closed what it opened."""
    from .app import create_app
    from .server import choose_runner
    from .store import BotStore, DatabaseError

    client = settings.web_client()
    try:
        identity = client.auth_test()
    except Exception as error:  # SlackApiError, or no connection at all
        raise LaunchError(_auth_failure(error, settings.api_url), FAILED) from None
    logger.info("Signed in to Slack as %s in %s", identity.get("user"), identity.get("team"))
    from .audience import Home, resolve_names

    try:
        policy = resolve_names(access_policy(options), client)
    except AccessFileError as error:
        raise LaunchError(str(error)) from None
    for kb in policy.knowledge_bases:
        logger.info("Knowledge base %s (%s): %s", kb.name, kb.index, kb.audience.describe())
    logger.info(
        "Guests %s; Slack Connect users %s",
        "may ask" if policy.allow_guests else "are refused", "may ask" if policy.allow_external else "are refused",
    )
    try:
        store = BotStore(options.database_location)
    except DatabaseError as error:
        raise LaunchError(str(error), FAILED) from None
    logger.info("Recording answers, feedback and thread context in %s", store.name)
    try:
        knowledge_bases = _knowledge_bases(policy, options, answerer)
        app = create_app(
            knowledge_bases,
            client=client,
            signing_secret=settings.signing_secret,
            store=store,
            access=policy,
            home=Home.from_auth_test(identity.data),
            max_question_chars=options.max_question_chars,
            max_batch=options.batch_size,
            suggested_prompts=options.prompts,
        )
        try:
            runner = choose_runner(app, settings, host=options.host, port=options.port)
        except OSError as error:
            raise LaunchError(f"Cannot listen on {options.host}:{options.port}: {error.strerror or error}.", FAILED) from None
    except BaseException:
        store.close()
        raise
    return Bot(app, runner, store, settings.socket_mode)


def _knowledge_bases(policy: AccessPolicy, options: BotOptions, given: Union[Answerer, Mapping[str, Answerer], None]):
    from .knowledge import KnowledgeBases

    if given is None:
        if options.access is None:
            return KnowledgeBases.single(load_answerer(options), policy.names[0])
        return KnowledgeBases(load_knowledge_bases(policy, options))
    if isinstance(given, Mapping):
        missing = [name for name in policy.names if name not in given]
        if missing:
            raise LaunchError(f"No answerer given for knowledge base(s) {', '.join(missing)}.")
        return KnowledgeBases({name: given[name] for name in policy.names})
    if len(policy.names) != 1:
        raise LaunchError("One answerer was given for several knowledge bases; give one per name.")
    return KnowledgeBases.single(given, policy.names[0])


def load_knowledge_bases(policy: AccessPolicy, options: BotOptions) -> Dict[str, Answerer]:
    """A `QuestionAnswerer` per knowledge base of the access file, all sharing
    one reader (loaded once); LaunchError naming the one that fails."""
    from spacy_spanqa.qa import QuestionAnswerer, load_reader  # slow (loads torch): after the cheap checks

    try:
        nlp = load_reader(options.model, options.runtime)
    except ValueError as error:
        raise LaunchError(str(error)) from None
    except OSError as error:
        raise LaunchError(f"Could not load the model: {error}.", FAILED) from None
    answerers: Dict[str, Answerer] = {}
    for kb in policy.knowledge_bases:
        milvus = {"collection": kb.collection} if is_milvus_uri(kb.index) else {}
        try:
            answerers[kb.name] = QuestionAnswerer(kb.index, model=nlp, top_k=options.top_k, **milvus)
        except ValueError as error:
            raise LaunchError(f"{policy.where(kb.line)}: knowledge base {kb.name!r}: {error}") from None
        except OSError as error:
            raise LaunchError(f"{policy.where(kb.line)}: could not open the index of knowledge base {kb.name!r} ({error}).", FAILED) from None
    return answerers


def load_answerer(options: BotOptions) -> Answerer:
    """The `QuestionAnswerer` the options name; LaunchError for a bad index or model."""
    from spacy_spanqa.qa import QuestionAnswerer  # slow (loads torch): after the cheap checks

    # A folder index has no collection: name one only for Milvus.
    milvus = {"collection": options.collection} if is_milvus_uri(options.index) else {}
    try:
        return QuestionAnswerer(options.index, model=options.model, top_k=options.top_k, runtime=options.runtime, **milvus)
    except ValueError as error:
        raise LaunchError(str(error)) from None
    except OSError as error:
        raise LaunchError(f"Could not load the index or model: {error}.", FAILED) from None


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # stop serving the same way as Ctrl-C: close the runner and the database


def _auth_failure(error: Exception, api_url: str) -> str:
    response = getattr(error, "response", None)  # a SlackApiError has one; a connection error has not
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
