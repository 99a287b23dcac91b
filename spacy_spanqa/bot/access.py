"""The access file: which knowledge bases the bot serves and who may read each.

`spanqa-bot --access access.toml` (or `.yaml` / `.yml`) declares one or more
knowledge bases, each an index (`spanqa index` folder, Milvus Lite `.db` or
Milvus server URL with a collection) with an audience: everyone, the members
of given channels, the members of given user groups, or both lists. It may also
let guests and Slack Connect users in (`allow_guests`, `allow_external`).

    allow_guests = false
    allow_external = false

    [[knowledge_bases]]
    name = "handbook"
    index = "handbook.idx"
    audience = "everyone"

    [[knowledge_bases]]
    name = "hr"
    index = "hr.idx"
    channels = ["#hr", "G0123ABCD"]
    usergroups = ["@people-team"]

`read_access_file` checks it all at start and raises `AccessFileError` with
one sentence naming the file and the line. Channels and user groups may be
written as IDs or as `#name` / `@handle` (looked up once at start, see
`audience.resolve_names`). Relative index paths are read from the file's folder.
Pure: no Slack calls here.
"""
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..retrieval.location import is_server_uri
from ..retrieval.settings import DEFAULT_COLLECTION
from .settings import DEFAULT_ACCESS_CACHE_SECONDS, DEFAULT_KNOWLEDGE_BASE

EVERYONE = "everyone"
TOP_LEVEL_KEYS = ("allow_guests", "allow_external", "cache_seconds", "knowledge_bases")
KNOWLEDGE_BASE_KEYS = ("name", "index", "collection", "audience", "channels", "usergroups")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Slack IDs: channels C…, private channels and group DMs G…, user groups S…
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_\-]{0,79}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_USERGROUP_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._\-]{0,79}$")


class AccessFileError(ValueError):
    """The access file is missing or malformed; the message is one sentence naming the file and line."""


@dataclass(frozen=True)
class Audience:
    """Who may read a knowledge base: everyone (the workspace's members, and
    guests or Slack Connect users only where they are let in), or the members
    of `channels` and of `usergroups` (IDs, or `#name` / `@handle` until resolved)."""

    everyone: bool = False
    channels: Tuple[str, ...] = ()
    usergroups: Tuple[str, ...] = ()

    def describe(self) -> str:
        if self.everyone:
            return EVERYONE
        parts = [f"members of {', '.join(self.channels)}"] if self.channels else []
        if self.usergroups:
            parts.append(f"members of user group(s) {', '.join(self.usergroups)}")
        return " or ".join(parts)


@dataclass(frozen=True)
class KnowledgeBaseSpec:
    """One knowledge base of the access file: its name, index and audience.
    `line`: where it is declared (for messages about it)."""

    name: str
    index: str
    audience: Audience
    collection: str = DEFAULT_COLLECTION
    line: int = 0


@dataclass(frozen=True)
class AccessPolicy:
    """Every knowledge base the bot serves, with its audience, and who else is let in.

    allow_guests: guests (`is_restricted` / `is_ultra_restricted`) may ask.
    allow_external: Slack Connect users from other organizations may ask, and
        knowledge open to everyone may be answered in channels shared with them.
    cache_seconds: how long looked-up user facts and memberships are trusted.
    source: the access file (None: the single --index, open to everyone).
    """

    knowledge_bases: Tuple[KnowledgeBaseSpec, ...]
    allow_guests: bool = False
    allow_external: bool = False
    cache_seconds: float = DEFAULT_ACCESS_CACHE_SECONDS
    source: Optional[Path] = None

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(kb.name for kb in self.knowledge_bases)

    def with_opt_ins(self, allow_guests: bool = False, allow_external: bool = False) -> "AccessPolicy":
        """The command-line opt-ins add to the file's (a flag can only let more people in)."""
        return replace(
            self, allow_guests=self.allow_guests or allow_guests, allow_external=self.allow_external or allow_external
        )

    def where(self, line: int) -> str:
        name = self.source.name if self.source else "the access file"
        return f"{name}, line {line}" if line else name


def single_index_policy(
    index: str, collection: str = DEFAULT_COLLECTION, *, allow_guests: bool = False, allow_external: bool = False
) -> AccessPolicy:
    """No access file: one knowledge base (`--index`) open to every member, as before audiences."""
    kb = KnowledgeBaseSpec(DEFAULT_KNOWLEDGE_BASE, index, Audience(everyone=True), collection)
    return AccessPolicy((kb,), allow_guests=allow_guests, allow_external=allow_external)


def read_access_file(path: Union[str, Path], *, check_indexes: bool = True) -> AccessPolicy:
    """Parse and check an access file (TOML, or YAML for .yaml/.yml). Raises
    AccessFileError naming the file and line of the first problem.
    check_indexes: folder and .db indexes must exist (paths relative to the file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf8")
    except FileNotFoundError:
        raise AccessFileError(f"There is no access file at {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AccessFileError(f"Cannot read the access file {path} ({getattr(error, 'strerror', None) or error}).") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data, lines = _parse_yaml(text, path)
    else:
        data, lines = _parse_toml(text, path)
    return _policy(data, lines, path, check_indexes)


# -- parsing, with the line of every key ------------------------------------------------

Lines = Dict[Tuple[Any, ...], int]  # ("knowledge_bases", 1, "name") -> 1-based line


def _parse_toml(text: str, path: Path) -> Tuple[Dict[str, Any], Lines]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message).rstrip(".")
        where = f"{path.name}, line {found.group(1)}" if found else path.name
        raise AccessFileError(f"{where}: this is not valid TOML ({reason[:1].lower() + reason[1:]}).") from None
    return data, _toml_lines(text)


def _toml_lines(text: str) -> Lines:
    """Where each key is, found by a scan of the lines: enough for the shapes an
    access file has (top-level keys, [[knowledge_bases]] tables, inline arrays)."""
    lines: Lines = {}
    table: Tuple[Any, ...] = ()
    counts: Dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        array = re.match(r"^\[\[\s*([A-Za-z0-9_.\-\"]+)\s*\]\]", line)
        plain = re.match(r"^\[\s*([A-Za-z0-9_.\-\"]+)\s*\]", line)
        if array:
            name = array.group(1).strip('"')
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = (name, index)
            lines.setdefault(table, number)
            lines.setdefault((name,), number)
        elif plain:
            table = (plain.group(1).strip('"'),)
            lines.setdefault(table, number)
        else:
            key = re.match(r"^([A-Za-z0-9_\-]+|\"[^\"]+\")\s*=", line)
            if key:
                lines.setdefault(table + (key.group(1).strip('"'),), number)
    return lines


def _parse_yaml(text: str, path: Path) -> Tuple[Dict[str, Any], Lines]:
    try:
        import yaml
    except ImportError:
        raise AccessFileError(
            f"{path.name}: reading a YAML access file needs PyYAML (pip install \"spacy-spanqa[bot]\"), or write it in TOML."
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or "it cannot be parsed"
        where = f"{path.name}, line {mark.line + 1}" if mark is not None else path.name
        raise AccessFileError(f"{where}: this is not valid YAML ({problem}).") from None
    lines: Lines = {}

    def walk(current, at: Tuple[Any, ...]) -> None:
        lines.setdefault(at, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                lines.setdefault(at + (key.value,), key.start_mark.line + 1)
                walk(value, at + (key.value,))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                walk(item, at + (i,))

    if node is not None:
        walk(node, ())
    return (data if data is not None else {}), lines


# -- checking ----------------------------------------------------------------


def _policy(data: Any, lines: Lines, path: Path, check_indexes: bool) -> AccessPolicy:
    def fail(at: Tuple[Any, ...], problem: str) -> AccessFileError:
        line = _line_of(lines, at)
        where = f"{path.name}, line {line}" if line else path.name
        return AccessFileError(f"{where}: {problem}.")

    if not isinstance(data, Mapping):
        raise fail((), "the access file must be a table of settings with a list of knowledge_bases")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise fail((key,), f"unknown setting {key!r}; the settings are {_listed(TOP_LEVEL_KEYS)}")
    allow_guests = _boolean(data, "allow_guests", fail)
    allow_external = _boolean(data, "allow_external", fail)
    cache_seconds = data.get("cache_seconds", DEFAULT_ACCESS_CACHE_SECONDS)
    if isinstance(cache_seconds, bool) or not isinstance(cache_seconds, (int, float)) or not 0 <= cache_seconds <= 86400:
        raise fail(("cache_seconds",), "cache_seconds must be a number of seconds from 0 to 86400")
    entries = data.get("knowledge_bases", [])
    if not isinstance(entries, list):
        raise fail(("knowledge_bases",), "knowledge_bases must be a list of tables ([[knowledge_bases]] in TOML)")
    specs: List[KnowledgeBaseSpec] = []
    seen: Dict[str, int] = {}
    for i, entry in enumerate(entries):
        spec = _knowledge_base(entry, ("knowledge_bases", i), lines, path, fail, check_indexes)
        if spec.name in seen:
            raise fail(("knowledge_bases", i, "name"), f"the name {spec.name!r} is used twice; give each knowledge base its own")
        seen[spec.name] = spec.line
        specs.append(spec)
    return AccessPolicy(
        tuple(specs), allow_guests=allow_guests, allow_external=allow_external,
        cache_seconds=float(cache_seconds), source=path,
    )


def _knowledge_base(entry: Any, at: Tuple[Any, ...], lines: Lines, path: Path, fail, check_indexes: bool) -> KnowledgeBaseSpec:
    line = _line_of(lines, at)
    if not isinstance(entry, Mapping):
        raise fail(at, "each knowledge base must be a table with name, index and an audience")
    for key in entry:
        if key not in KNOWLEDGE_BASE_KEYS:
            raise fail(at + (key,), f"unknown key {key!r} in a knowledge base; the keys are {_listed(KNOWLEDGE_BASE_KEYS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(at + ("name",) if "name" in entry else at,
                   "each knowledge base needs a name of letters, digits, '.', '_' or '-' (for example name = \"hr\")")
    index = entry.get("index")
    if not isinstance(index, str) or not index.strip():
        raise fail(at + ("index",) if "index" in entry else at,
                   f"knowledge base {name!r} needs an index: a `spanqa index` folder, a .db file or a Milvus server URL")
    index = index.strip()
    if not is_server_uri(index):
        resolved = Path(index).expanduser()
        if not resolved.is_absolute():
            resolved = (path.resolve().parent / resolved)
        if check_indexes and not resolved.exists():
            raise fail(at + ("index",), f"there is no index at {resolved} for knowledge base {name!r}; build it with `spanqa index`")
        index = str(resolved)
    collection = entry.get("collection", DEFAULT_COLLECTION)
    if not isinstance(collection, str) or not collection.strip():
        raise fail(at + ("collection",), f"the collection of knowledge base {name!r} must be a name")
    audience = _audience(entry, name, at, fail)
    return KnowledgeBaseSpec(name, index, audience, collection.strip(), line)


def _audience(entry: Mapping[str, Any], name: str, at: Tuple[Any, ...], fail) -> Audience:
    said = entry.get("audience")
    channels = _references(entry, "channels", name, at, fail, _CHANNEL_ID, _CHANNEL_NAME, "channel", "#hr or C0123ABCD")
    usergroups = _references(entry, "usergroups", name, at, fail, _USERGROUP_ID, _USERGROUP_HANDLE, "user group", "@people-team or S0123ABCD")
    if said is not None and said != EVERYONE:
        raise fail(at + ("audience",), f"audience of {name!r} must be \"everyone\"; for fewer people list channels and/or usergroups instead")
    if said == EVERYONE and (channels or usergroups):
        raise fail(at + ("audience",), f"knowledge base {name!r} says audience = \"everyone\" and also lists channels or usergroups; keep one")
    if said is None and not channels and not usergroups:
        raise fail(at, f"knowledge base {name!r} has no audience; add audience = \"everyone\", or channels and/or usergroups")
    return Audience(everyone=said == EVERYONE, channels=channels, usergroups=usergroups)


def _references(entry, key, name, at, fail, id_pattern, name_pattern, kind, example) -> Tuple[str, ...]:
    values = entry.get(key, [])
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise fail(at + (key,), f"{key} of {name!r} must be a list, for example [\"{example.split(' or ')[0]}\"]")
    out = []
    for value in values:
        if not isinstance(value, str) or not (id_pattern.match(value.strip()) or name_pattern.match(value.strip())):
            raise fail(at + (key,), f"{value!r} in {key} of {name!r} is not a {kind}; write it as {example}")
        out.append(value.strip())
    if key in entry and not out:
        raise fail(at + (key,), f"{key} of {name!r} is empty; list at least one {kind} or remove the key")
    return tuple(dict.fromkeys(out))


def _boolean(data: Mapping[str, Any], key: str, fail) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise fail((key,), f"{key} must be true or false")
    return value


def _line_of(lines: Lines, at: Tuple[Any, ...]) -> int:
    """The line of `at`, else of the nearest enclosing key that has one."""
    while at:
        if at in lines:
            return lines[at]
        at = at[:-1]
    return lines.get((), 0) if lines.get((), 0) > 0 else 0


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]
