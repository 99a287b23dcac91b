"""Who is asking, where, and which knowledge bases that lets the bot search.

`AudienceGate.scope_for(asker, place)` decides, for every question:
- guests (`users.info`: `is_restricted` / `is_ultra_restricted`) and Slack
  Connect users (a team other than the workspace or organization the app is
  installed in: `auth.test` and the event's `authorizations`) are refused
  unless the access policy lets them in;
- a question in a channel searches only the knowledge bases allowed there: open
  to everyone (not in a channel shared with other organizations, unless
  external users are let in), or listing that channel;
- a question only the asker sees (a DM with the bot, the AI-app thread, `/ask`
  in a DM) searches the knowledge bases whose audience includes the asker:
  everyone, or a member of a listed channel or user group.

`SlackDirectory` looks the facts up (`users.info`, `conversations.members`,
`conversations.info`, `usergroups.users.list`) once per key per cache period,
at most as often as each method's rate-limit tier allows; a 429 is retried
after Slack's Retry-After by the client's retry handler. A fact that cannot be
looked up counts against the asker (fail closed).
"""
import collections
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, FrozenSet, Generic, Hashable, Iterable, List, Optional, Sequence, Tuple, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from .access import AccessFileError, AccessPolicy, Audience, KnowledgeBaseSpec

logger = logging.getLogger(__name__)

# Calls per minute that Slack's rate-limit tiers allow (tier 4: 100+, tier 3: 50+, tier 2: 20+).
TIER_LIMITS = {
    "users.info": 100,
    "conversations.members": 100,
    "conversations.info": 50,
    "usergroups.users.list": 20,
    "usergroups.list": 20,
    "conversations.list": 20,
}
FAILED_LOOKUP_SECONDS = 30  # a failed membership lookup is not retried sooner than this
PAGE_SIZE = 1000  # members / channels per page

# Why a question is not answered (blocks.refusal_message says each in one sentence).
GUEST = "guest"
EXTERNAL = "external"
UNKNOWN_USER = "unknown_user"  # users.info failed: we cannot tell who is asking
NOTHING_HERE = "nothing_here"  # no knowledge base is allowed in this channel
SHARED_CHANNEL = "shared_channel"  # ... because it is shared with other organizations
NOTHING_FOR_YOU = "nothing_for_you"  # no knowledge base's audience includes the asker


@dataclass(frozen=True)
class UserFacts:
    """What `users.info` says about a user that decides what they may read."""

    id: str
    team_id: Optional[str]
    enterprise_id: Optional[str]
    guest: bool  # is_restricted or is_ultra_restricted
    stranger: bool = False  # is_stranger: someone from outside, seen in a shared channel
    deleted: bool = False


@dataclass(frozen=True)
class Home:
    """The teams and the organization the app is installed in."""

    team_ids: FrozenSet[str] = frozenset()
    enterprise_ids: FrozenSet[str] = frozenset()

    def with_authorizations(self, authorizations: Optional[Sequence[Dict[str, Any]]]) -> "Home":
        """Add the installations an event was delivered for (the event's `authorizations`)."""
        teams, enterprises = set(self.team_ids), set(self.enterprise_ids)
        for authorization in authorizations or ():
            if authorization.get("team_id"):
                teams.add(authorization["team_id"])
            if authorization.get("enterprise_id"):
                enterprises.add(authorization["enterprise_id"])
        return Home(frozenset(teams), frozenset(enterprises))

    @classmethod
    def from_auth_test(cls, identity: Dict[str, Any]) -> "Home":
        teams = {identity["team_id"]} if identity.get("team_id") else set()
        enterprises = {identity["enterprise_id"]} if identity.get("enterprise_id") else set()
        return cls(frozenset(teams), frozenset(enterprises))


@dataclass(frozen=True)
class Asker:
    """Who asked. `team`: the team the event or command says they belong to
    (`user_team` in a shared channel, the command's `team_id`); `authorizations`:
    the installations the event was delivered for."""

    user: str
    team: Optional[str] = None
    authorizations: Tuple[Dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Place:
    """Where the answer will be read. `private_to_asker`: only the asker reads it
    (their DM with the bot, the AI-app thread, /ask in a DM). `shared_externally`:
    what the event says (`is_ext_shared_channel`); None: look it up."""

    channel: str
    private_to_asker: bool
    shared_externally: Optional[bool] = None


@dataclass(frozen=True)
class Scope:
    """The knowledge bases a question may search, best first in the access file's
    order; or, when none, why not (`refusal`, one of the reasons above)."""

    knowledge_bases: Tuple[str, ...] = ()
    refusal: Optional[str] = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None and bool(self.knowledge_bases)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _TTLCache(Generic[K, V]):
    """Values by key for `seconds`; concurrent loads of one key wait for a single load."""

    def __init__(self, seconds: float, clock: Callable[[], float]):
        self.seconds = seconds
        self.clock = clock
        self._values: Dict[K, Tuple[float, V]] = {}
        self._locks: Dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: K, load: Callable[[], Tuple[V, float]]) -> V:
        """The cached value, or `load()` -> (value, seconds to keep it)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            now = self.clock()
            found = self._values.get(key)
            if found is not None and found[0] > now:
                return found[1]
            value, keep = load()
            if keep > 0:
                self._values[key] = (self.clock() + keep, value)
            return value

    def forget(self, key: K) -> None:
        with self._guard:
            self._values.pop(key, None)


class _TierLimiter:
    """At most TIER_LIMITS[method] calls of a method in any 60 seconds: callers
    wait for a slot rather than earn a 429."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.clock, self.sleep = clock, sleep
        self._calls: Dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def wait(self, method: str) -> None:
        limit = TIER_LIMITS.get(method)
        if not limit:
            return
        while True:
            with self._lock:
                now = self.clock()
                calls = self._calls[method]
                while calls and calls[0] <= now - 60:
                    calls.popleft()
                if len(calls) < limit:
                    calls.append(now)
                    return
                delay = calls[0] + 60 - now
            logger.info("Waiting %.1fs for %s's rate-limit tier", delay, method)
            self.sleep(max(delay, 0.05))


class LookupFailed(Exception):
    """A fact about the asker could not be looked up."""


class SlackDirectory:
    """User facts and memberships from the Web API, each looked up once per
    `cache_seconds` (0: every time) and paced by rate-limit tier."""

    def __init__(self, client: WebClient, cache_seconds: float, *, home: Optional[Home] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.client = client
        self._users: _TTLCache[str, Optional[UserFacts]] = _TTLCache(cache_seconds, clock)
        self._channels: _TTLCache[str, FrozenSet[str]] = _TTLCache(cache_seconds, clock)
        self._groups: _TTLCache[str, FrozenSet[str]] = _TTLCache(cache_seconds, clock)
        self._shared: _TTLCache[str, Optional[bool]] = _TTLCache(cache_seconds, clock)
        self._limiter = _TierLimiter(clock)
        self._home = home
        self._home_lock = threading.Lock()
        self.cache_seconds = cache_seconds

    def home(self) -> Home:
        """Where the app is installed (`auth.test`, once)."""
        with self._home_lock:
            if self._home is None:
                self._home = Home.from_auth_test(self.client.auth_test().data)
            return self._home

    def user(self, user_id: str) -> UserFacts:
        """`users.info` for `user_id`; LookupFailed when Slack would not say."""

        def load() -> Tuple[Optional[UserFacts], float]:
            try:
                user = self._call("users.info", self.client.users_info, user=user_id)["user"]
            except SlackApiError as error:
                logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
                return None, min(self.cache_seconds, FAILED_LOOKUP_SECONDS)
            except Exception as error:  # no connection: try again next time
                logger.warning("users.info failed for %s: %s", user_id, type(error).__name__)
                return None, 0
            enterprise = (user.get("enterprise_user") or {}).get("enterprise_id") or user.get("enterprise_id")
            facts = UserFacts(
                id=user_id,
                team_id=user.get("team_id"),
                enterprise_id=enterprise,
                guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
                stranger=bool(user.get("is_stranger")),
                deleted=bool(user.get("deleted")),
            )
            return facts, self.cache_seconds

        facts = self._users.get(user_id, load)
        if facts is None:
            raise LookupFailed(user_id)
        return facts

    def channel_members(self, channel: str) -> FrozenSet[str]:
        """The members of a channel (empty where the bot may not list them)."""
        return self._channels.get(channel, lambda: self._members(
            "conversations.members", self.client.conversations_members, "members", channel=channel))

    def usergroup_members(self, usergroup: str) -> FrozenSet[str]:
        return self._groups.get(usergroup, lambda: self._members(
            "usergroups.users.list", self.client.usergroups_users_list, "users", usergroup=usergroup))

    def shared_externally(self, channel: str) -> Optional[bool]:
        """True for a channel shared with another organization (Slack Connect);
        None where `conversations.info` fails (a private channel the bot is not in)."""

        def load() -> Tuple[Optional[bool], float]:
            try:
                info = self._call("conversations.info", self.client.conversations_info, channel=channel)["channel"]
            except Exception as error:
                logger.warning("conversations.info failed for %s: %s", channel, _reason(error))
                return None, min(self.cache_seconds, FAILED_LOOKUP_SECONDS)
            shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
            return shared, self.cache_seconds

        return self._shared.get(channel, load)

    def forget_user(self, user_id: str) -> None:
        self._users.forget(user_id)

    def forget_channel(self, channel: str) -> None:
        self._channels.forget(channel)
        self._shared.forget(channel)

    def forget_usergroup(self, usergroup: str) -> None:
        self._groups.forget(usergroup)

    def _members(self, method: str, call, key: str, **args: Any) -> Tuple[FrozenSet[str], float]:
        members: List[str] = []
        cursor = None
        try:
            while True:
                page = self._call(method, call, **args, **({"cursor": cursor, "limit": PAGE_SIZE} if key == "members" else {}))
                members.extend(page.get(key) or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or key != "members":
                    break
        except Exception as error:
            logger.warning("%s failed for %s: %s", method, next(iter(args.values())), _reason(error))
            return frozenset(), min(self.cache_seconds, FAILED_LOOKUP_SECONDS)
        return frozenset(members), self.cache_seconds

    def _call(self, method: str, call, **args: Any):
        self._limiter.wait(method)
        return call(**{k: v for k, v in args.items() if v is not None})


class AudienceGate:
    """Which knowledge bases a question may search: see the module docstring."""

    def __init__(self, policy: AccessPolicy, directory: SlackDirectory):
        self.policy = policy
        self.directory = directory

    def refusal_for(self, asker: Asker) -> Optional[str]:
        """Why `asker` may not use the bot at all (GUEST, EXTERNAL, UNKNOWN_USER), or None."""
        try:
            facts = self.directory.user(asker.user)
            home = self.directory.home().with_authorizations(asker.authorizations)
        except LookupFailed:
            return UNKNOWN_USER
        except Exception as error:  # auth.test failed: cannot tell inside from outside
            logger.warning("Could not check who %s is: %s", asker.user, _reason(error))
            return UNKNOWN_USER
        if facts.deleted:
            return UNKNOWN_USER
        if _external(facts, asker.team, home) and not self.policy.allow_external:
            return EXTERNAL
        if facts.guest and not self.policy.allow_guests:
            return GUEST
        return None

    def scope_for(self, asker: Asker, place: Place) -> Scope:
        refusal = self.refusal_for(asker)
        if refusal is not None:
            return Scope((), refusal)
        if place.private_to_asker:
            names = tuple(kb.name for kb in self.policy.knowledge_bases if self._includes(kb.audience, asker.user))
            return Scope(names) if names else Scope((), NOTHING_FOR_YOU)
        shared = place.shared_externally
        if shared is None:
            shared = self.directory.shared_externally(place.channel)
        # Unknown (the bot cannot see the channel): only knowledge bases that name it.
        open_here = shared is False or (shared is True and self.policy.allow_external)
        names = tuple(
            kb.name for kb in self.policy.knowledge_bases
            if place.channel in kb.audience.channels or (kb.audience.everyone and open_here)
        )
        if names:
            return Scope(names)
        return Scope((), SHARED_CHANNEL if shared else NOTHING_HERE)

    def _includes(self, audience: Audience, user: str) -> bool:
        if audience.everyone:
            return True
        return any(user in self.directory.channel_members(c) for c in audience.channels) or any(
            user in self.directory.usergroup_members(g) for g in audience.usergroups
        )


def _external(facts: UserFacts, claimed_team: Optional[str], home: Home) -> bool:
    """From another organization: a team (users.info's, or the one the event
    names) outside the installation's teams, and not in its Enterprise Grid org."""
    if facts.stranger:
        return True
    if facts.enterprise_id and facts.enterprise_id in home.enterprise_ids:
        return False
    teams = {t for t in (facts.team_id, claimed_team) if t}
    return not teams or not teams <= home.team_ids


def resolve_names(policy: AccessPolicy, client: WebClient) -> AccessPolicy:
    """The policy with `#channel` names and `@usergroup` handles replaced by their
    IDs (conversations.list / usergroups.list, once at start). AccessFileError
    names the file and line of one that Slack does not know."""
    wanted_channels = any(c.startswith("#") for kb in policy.knowledge_bases for c in kb.audience.channels)
    wanted_groups = any(g.startswith("@") for kb in policy.knowledge_bases for g in kb.audience.usergroups)
    if not wanted_channels and not wanted_groups:
        return policy
    channels = _channel_ids(client, policy) if wanted_channels else {}
    groups = _usergroup_ids(client, policy) if wanted_groups else {}
    resolved: List[KnowledgeBaseSpec] = []
    for kb in policy.knowledge_bases:
        def look_up(values: Iterable[str], table: Dict[str, str], kind: str, hint: str) -> Tuple[str, ...]:
            out = []
            for value in values:
                if value[0] in "#@":
                    if value[1:] not in table:
                        raise AccessFileError(
                            f"{policy.where(kb.line)}: Slack has no {kind} {value} that the bot can see "
                            f"(knowledge base {kb.name!r}); {hint}."
                        )
                    out.append(table[value[1:]])
                else:
                    out.append(value)
            return tuple(dict.fromkeys(out))

        audience = replace(
            kb.audience,
            channels=look_up(kb.audience.channels, channels, "channel", "check the name, invite the bot to a private channel, or write the channel ID"),
            usergroups=look_up(kb.audience.usergroups, groups, "user group", "check the handle or write the user group ID (S…)"),
        )
        resolved.append(replace(kb, audience=audience))
    return replace(policy, knowledge_bases=tuple(resolved))


def _channel_ids(client: WebClient, policy: AccessPolicy) -> Dict[str, str]:
    names: Dict[str, str] = {}
    cursor = None
    limiter = _TierLimiter()
    try:
        while True:
            limiter.wait("conversations.list")
            page = client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=PAGE_SIZE, **({"cursor": cursor} if cursor else {})
            )
            for channel in page.get("channels") or []:
                names.setdefault(channel.get("name") or "", channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return names
    except SlackApiError as error:
        raise AccessFileError(
            f"{policy.where(0)}: Slack would not list the channels named there ({error.response.get('error')}); "
            "add the channels:read and groups:read scopes or write channel IDs."
        ) from None


def _usergroup_ids(client: WebClient, policy: AccessPolicy) -> Dict[str, str]:
    try:
        page = client.usergroups_list()
    except SlackApiError as error:
        raise AccessFileError(
            f"{policy.where(0)}: Slack would not list the user groups named there ({error.response.get('error')}); "
            "add the usergroups:read scope or write user group IDs."
        ) from None
    return {group.get("handle") or "": group["id"] for group in page.get("usergroups") or []}


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return type(error).__name__
