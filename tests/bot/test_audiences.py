"""Who may ask what: guests and Slack Connect users refused by default, knowledge
bases scoped to channels and user groups, nothing crossing an audience, and the
audit trail. Signed requests against the mock Web API on 127.0.0.1."""
import json
import sqlite3
import threading
import time

import pytest

from spacy_spanqa.bot.access import AccessPolicy, Audience, KnowledgeBaseSpec
from spacy_spanqa.bot.knowledge import KnowledgeBases
from tests.bot.fakes import HR_KNOWLEDGE, SALARY, FakeAnswerer
from tests.bot.mock_slack import (
    OTHER_TEAM_ID,
    MockSlackAPI,
    app_mention,
    feedback_click,
    message,
    next_ts,
    send_event,
    send_form,
    slash_command,
)
from tests.bot.running import RunningBot

QUIET = 0.25
REPLIES = {"chat.postMessage", "chat.postEphemeral", "response_url"}

MEMBER = "UMEMBER01"  # a full member in no restricted audience: the "non-member" of #hr
GUEST = "UGUEST001"  # is_restricted
SINGLE_CHANNEL_GUEST = "UGUEST002"  # is_ultra_restricted
EXTERNAL = "UEXTERN01"  # from another organization, in a Slack Connect channel
HR_MEMBER = "UHRPEOPL1"  # member of the private #hr channel
GROUP_MEMBER = "UPEOPLE01"  # member of the @people-team user group only

PUBLIC_CHANNEL = "C0GENERAL"
HR_CHANNEL = "GHRPRIVAT"  # private channel
SHARED_CHANNEL = "CSHAREDEX"  # shared with another organization
PEOPLE_GROUP = "SPEOPLE01"

SALARY_QUESTION = "what are the salary bands for engineers?"
VACATION_QUESTION = "how many vacation days do I get?"
SALARY_TEXT = ("70,000", "Salary bands", "salary.md")  # nothing of the hr knowledge base may show outside it

POLICY = AccessPolicy(
    (
        KnowledgeBaseSpec("handbook", "handbook.idx", Audience(everyone=True)),
        KnowledgeBaseSpec("hr", "hr.idx", Audience(channels=(HR_CHANNEL,), usergroups=(PEOPLE_GROUP,))),
    )
)


def directory(api: MockSlackAPI) -> None:
    api.users.update({
        GUEST: {"is_restricted": True},
        SINGLE_CHANNEL_GUEST: {"is_restricted": True, "is_ultra_restricted": True},
        EXTERNAL: {"team_id": OTHER_TEAM_ID},
    })
    api.channels.update({
        PUBLIC_CHANNEL: {"id": PUBLIC_CHANNEL, "name": "general", "is_ext_shared": False,
                         "members": [MEMBER, HR_MEMBER, GROUP_MEMBER, GUEST]},
        HR_CHANNEL: {"id": HR_CHANNEL, "name": "hr", "is_private": True, "is_ext_shared": False,
                     "members": ["UOTHER001", "UOTHER002", HR_MEMBER, SINGLE_CHANNEL_GUEST]},  # members span two pages
        SHARED_CHANNEL: {"id": SHARED_CHANNEL, "name": "partners", "is_ext_shared": True, "members": [MEMBER, EXTERNAL]},
    })
    api.usergroups.update({PEOPLE_GROUP: {"handle": "people-team", "users": [GROUP_MEMBER]}})


class Library:
    """The two knowledge bases' fake answerers, and the bot serving them."""

    def __init__(self, api, database, policy=POLICY, **options):
        self.handbook = FakeAnswerer()
        self.hr = FakeAnswerer(knowledge=HR_KNOWLEDGE, unknown=[SALARY])
        answerers = {"handbook": self.handbook, "hr": self.hr}
        self.bot = RunningBot(api, KnowledgeBases({n: answerers[n] for n in policy.names}), database, access=policy, **options)
        self.api = api

    def reset(self):
        with self.api._lock:
            self.api.calls.clear()
        self.handbook.asked.clear()
        self.hr.asked.clear()

    def close(self):
        self.bot.close()


@pytest.fixture(scope="module")
def module_api():
    api = MockSlackAPI()
    directory(api)
    yield api
    api.close()


@pytest.fixture(scope="module")
def library(module_api, tmp_path_factory):
    running = Library(module_api, tmp_path_factory.mktemp("audiences") / "bot.sqlite")
    yield running
    running.close()


# -- the matrix ------------------------------------------------------------------

ASKERS = [MEMBER, GUEST, SINGLE_CHANNEL_GUEST, EXTERNAL, HR_MEMBER, GROUP_MEMBER]
PLACES = ["public channel", "private channel", "shared channel", "dm", "ai-app thread", "/ask in a channel", "/ask in a dm"]
PRIVATE_PLACES = {"dm", "ai-app thread", "/ask in a dm"}
IN_HR_CHANNEL = {HR_MEMBER, SINGLE_CHANNEL_GUEST}  # only members can post in the private channel


def expected(asker: str, place: str) -> str:
    """'refused', 'hr' (may read the restricted knowledge base) or 'public'."""
    if asker in (GUEST, SINGLE_CHANNEL_GUEST, EXTERNAL) or place == "shared channel":
        return "refused"
    if place in PRIVATE_PLACES:
        return "hr" if asker in (HR_MEMBER, GROUP_MEMBER) else "public"
    return "hr" if place == "private channel" else "public"


CELLS = [
    (asker, place) for asker in ASKERS for place in PLACES
    if place != "private channel" or asker in IN_HR_CHANNEL
]


def ask(library: Library, asker: str, place: str, question: str):
    """Ask as `asker` in `place`; the one reply (after a quiet spell: exactly one)."""
    api = library.api
    before = len(api.calls)
    team = {"user_team": OTHER_TEAM_ID} if asker == EXTERNAL else {}
    if place in ("public channel", "private channel", "shared channel"):
        channel = {"public channel": PUBLIC_CHANNEL, "private channel": HR_CHANNEL, "shared channel": SHARED_CHANNEL}[place]
        payload = app_mention(question, channel=channel, user=asker)
        payload["event"].update(team)
        payload["is_ext_shared_channel"] = place == "shared channel"
        status = send_event(library.bot.url, payload)[0]
    elif place in ("dm", "ai-app thread"):
        thread = next_ts() if place == "ai-app thread" else None
        payload = message(question, channel="D0" + asker[1:], user=asker, thread_ts=thread)
        payload["event"].update(team)
        status = send_event(library.bot.url, payload)[0]
    else:
        channel = PUBLIC_CHANNEL if place == "/ask in a channel" else "D0" + asker[1:]
        body = slash_command(question, api.response_url("ask"), channel=channel, user=asker)
        if place == "/ask in a dm":
            body = body.replace("channel_name=general", "channel_name=directmessage")
        status = send_form(library.bot.url, body)[0]
    assert status == 200
    api.wait_for_any(REPLIES, count=1 + len([c for c in api.calls[:before] if c.method in REPLIES]))
    time.sleep(QUIET)
    replies = [c for c in api.calls[before:] if c.method in REPLIES]
    assert len(replies) == 1, [c.method for c in replies]
    return replies[0]


def read(call) -> str:
    return call.args.get("text", "") + json.dumps(call.args.get("blocks") or [])


@pytest.mark.parametrize("asker, place", CELLS, ids=[f"{a}-{p.replace(' ', '_')}" for a, p in CELLS])
def test_every_cell_of_the_matrix_answers_from_its_audience_only(library, asker, place):
    library.reset()
    reply = ask(library, asker, place, SALARY_QUESTION)
    text = read(reply)
    outcome = expected(asker, place)
    if outcome == "hr":
        assert "70,000 to 85,000 EUR" in reply.args["text"]
        assert library.hr.asked == [SALARY_QUESTION]
    else:
        assert not any(secret in text for secret in SALARY_TEXT), text
        assert library.hr.asked == []  # the restricted knowledge base was not even searched
    if outcome == "public":
        assert "couldn't find an answer" in reply.args["text"] and library.handbook.asked == [SALARY_QUESTION]
    if outcome == "refused":
        sentence = reply.args["text"]
        assert sentence.startswith("Sorry") and sentence.count(". ") == 0 and not reply.args.get("blocks")
        assert "Leave policy" not in text and "Closest" not in text  # no passage, source or closest sources
        assert library.handbook.asked == [] and library.hr.asked == []
        if place in ("public channel", "private channel", "shared channel"):
            assert reply.method == "chat.postEphemeral" and reply.args["user"] == asker  # only the asker sees it
        if place.startswith("/ask"):
            assert reply.method == "response_url" and reply.args["response_type"] == "ephemeral"


@pytest.mark.parametrize("asker, place", [
    (MEMBER, "public channel"), (MEMBER, "dm"), (HR_MEMBER, "private channel"), (GROUP_MEMBER, "ai-app thread"),
    (MEMBER, "/ask in a channel"), (HR_MEMBER, "/ask in a dm"),
])
def test_knowledge_open_to_everyone_answers_every_member_everywhere_but_shared_channels(library, asker, place):
    library.reset()
    reply = ask(library, asker, place, VACATION_QUESTION)
    assert reply.args["text"].startswith("Answer: 25 days")


def test_the_audit_records_which_knowledge_bases_each_answer_searched(library):
    library.reset()
    ask(library, HR_MEMBER, "dm", "salary bands, for the audit?")
    ask_again = ask(library, MEMBER, "public channel", "salary bands of level 3, for the audit?")
    assert "couldn't find" in ask_again.args["text"]
    with sqlite3.connect(library.bot.store.path) as db:
        rows = dict(db.execute(
            "SELECT asked_by, knowledge_bases || ' ' || coalesce(answered_from, '-') FROM answers "
            "WHERE question LIKE '%for the audit%'"
        ).fetchall())
        passages = json.loads(db.execute(
            "SELECT passages FROM answers WHERE asked_by = ? AND question LIKE '%for the audit%'", (MEMBER,)).fetchone()[0])
    assert rows[HR_MEMBER] == '["handbook", "hr"] hr'
    assert rows[MEMBER] == '["handbook"] -'
    assert {p["knowledge_base"] for p in passages} == {"handbook"}


def test_a_follow_up_in_a_thread_keeps_the_scope_of_its_channel(library):
    library.reset()
    root = next_ts()
    send_event(library.bot.url, app_mention(VACATION_QUESTION, channel=PUBLIC_CHANNEL, user=HR_MEMBER, ts=root))
    library.api.wait_for("chat.postMessage")
    # HR_MEMBER may read hr in a DM, but this thread is in #general: the follow-up searches handbook only.
    send_event(library.bot.url, message("and what are the salary bands?", channel=PUBLIC_CHANNEL, channel_type="channel",
                                        user=HR_MEMBER, thread_ts=root))
    second = library.api.wait_for("chat.postMessage", 2)[1]
    assert second.args["thread_ts"] == root and not any(s in read(second) for s in SALARY_TEXT)
    assert library.hr.asked == []


def test_feedback_from_a_guest_is_not_recorded(library):
    library.reset()
    reply = ask(library, MEMBER, "public channel", VACATION_QUESTION)
    answer_id = reply.args["blocks"][-1]["elements"][0]["positive_button"]["value"].partition(":")[2]
    send_form(library.bot.url, feedback_click(answer_id, "helpful", library.api.response_url("a"), channel=PUBLIC_CHANNEL, user=GUEST))
    (said,) = library.api.wait_for("chat.postEphemeral")
    assert said.args["text"].startswith("Sorry, I only answer questions from full members")
    with sqlite3.connect(library.bot.store.path) as db:
        assert db.execute("SELECT count(*) FROM votes WHERE answer_id = ?", (answer_id,)).fetchone()[0] == 0


def test_a_guest_opening_the_ai_app_thread_gets_one_sentence_and_no_prompts(library):
    from tests.bot.mock_slack import assistant_thread_started

    library.reset()
    send_event(library.bot.url, assistant_thread_started(channel="D0GUEST01", user=GUEST))
    (said,) = library.api.wait_for("chat.postMessage")
    time.sleep(QUIET)
    assert said.args["text"].startswith("Sorry") and not library.api.calls_to("assistant.threads.setSuggestedPrompts")


# -- opt-ins, organizations, caching ----------------------------------------------------


@pytest.fixture
def open_library(api, tmp_path):
    directory(api)
    policy = POLICY.with_opt_ins(allow_guests=True, allow_external=True)
    running = Library(api, tmp_path / "bot.sqlite", policy=policy)
    yield running
    running.close()


@pytest.mark.parametrize("asker, place, outcome", [
    (GUEST, "public channel", "public"),
    (EXTERNAL, "dm", "public"),
    (EXTERNAL, "shared channel", "public"),  # open-to-everyone knowledge is allowed in shared channels too
    (SINGLE_CHANNEL_GUEST, "private channel", "hr"),
])
def test_allow_guests_and_allow_external_let_them_in_within_the_audiences(open_library, asker, place, outcome):
    reply = ask(open_library, asker, place, SALARY_QUESTION)
    assert ("70,000" in reply.args["text"]) == (outcome == "hr")
    assert "couldn't find" in reply.args["text"] or outcome == "hr"


def test_a_user_of_another_workspace_in_the_same_enterprise_org_is_not_external(api, tmp_path):
    api.enterprise_id = "E0ORG"
    api.users["UOTHERWS1"] = {"team_id": "T0OTHERWS", "enterprise_user": {"enterprise_id": "E0ORG"}}
    api.users["UCONNECT1"] = {"team_id": "T0OTHERWS", "enterprise_user": {"enterprise_id": "E0ELSEWHERE"}}
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        inside = ask(running, "UOTHERWS1", "dm", VACATION_QUESTION)
        assert inside.args["text"].startswith("Answer: 25 days")
        running.reset()
        outside = ask(running, "UCONNECT1", "dm", VACATION_QUESTION)
        assert outside.args["text"].startswith("Sorry, I only answer questions from people in this organization")
    finally:
        running.close()


def test_users_info_is_called_once_per_user_per_cache_period(api, tmp_path):
    from dataclasses import replace

    directory(api)
    running = Library(api, tmp_path / "bot.sqlite", policy=replace(POLICY, cache_seconds=2.5))
    try:
        started = time.monotonic()
        for question in ("vacation days?", "how many vacation days?", "vacation, again?"):
            ask(running, MEMBER, "dm", question)
        ask(running, GROUP_MEMBER, "dm", SALARY_QUESTION)
        ask(running, GROUP_MEMBER, "dm", "salary bands again?")
        infos = [c.args["user"] for c in api.calls_to("users.info")]
        assert infos.count(MEMBER) == 1 and infos.count(GROUP_MEMBER) == 1
        assert len(api.calls_to("usergroups.users.list")) == 1
        time.sleep(max(0.0, started + 2.6 - time.monotonic()))  # the cache period is over: looked up again
        ask(running, MEMBER, "dm", "vacation days now?")
        assert [c.args["user"] for c in api.calls_to("users.info")].count(MEMBER) == 2
    finally:
        running.close()


def test_a_burst_from_one_new_user_looks_them_up_once(api, tmp_path):
    directory(api)
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        payloads = [message(f"vacation days {i}?", channel="D0BURST", user="UBURST001") for i in range(6)]
        threads = [threading.Thread(target=send_event, args=(running.bot.url, p)) for p in payloads]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api.wait_for("chat.postMessage", 6)
        assert len(api.calls_to("users.info")) == 1
    finally:
        running.close()


def test_a_rate_limited_lookup_is_retried_after_retry_after_and_answered(api, tmp_path):
    directory(api)
    api.rate_limit("users.info", retry_after=0)
    api.rate_limit("conversations.members", retry_after=0)
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        reply = ask(running, HR_MEMBER, "dm", SALARY_QUESTION)
        assert "70,000" in reply.args["text"] and api.rate_limited == 2
        assert len(api.calls_to("users.info")) == 2  # the 429, then its retry
    finally:
        running.close()


def test_a_user_slack_does_not_know_is_refused_with_one_sentence(api, tmp_path):
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        reply = ask(running, "UGONE0001", "dm", VACATION_QUESTION)
        assert reply.args["text"].startswith("Sorry, I couldn't confirm who is asking")
        assert running.handbook.asked == []
    finally:
        running.close()


def test_leaving_the_channel_takes_effect_at_once(api, tmp_path):
    directory(api)
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        assert "70,000" in ask(running, HR_MEMBER, "dm", SALARY_QUESTION).args["text"]
        api.channels[HR_CHANNEL]["members"].remove(HR_MEMBER)
        send_event(running.bot.url, {**message("x"), "event": {"type": "member_left_channel", "user": HR_MEMBER,
                                                               "channel": HR_CHANNEL, "event_ts": next_ts()}})
        time.sleep(QUIET)  # the listener runs after Slack's 200
        running.reset()
        reply = ask(running, HR_MEMBER, "dm", "salary bands, please?")
        assert "70,000" not in read(reply) and running.hr.asked == []
    finally:
        running.close()


def test_a_channel_with_no_knowledge_base_allowed_says_so(api, tmp_path):
    directory(api)
    only_hr = AccessPolicy((KnowledgeBaseSpec("hr", "hr.idx", Audience(channels=(HR_CHANNEL,))),))
    running = Library(api, tmp_path / "bot.sqlite", policy=only_hr)
    try:
        reply = ask(running, MEMBER, "public channel", VACATION_QUESTION)
        assert reply.method == "chat.postEphemeral" and "none of the knowledge I can search is open to this channel" in reply.args["text"]
        running.reset()
        reply = ask(running, MEMBER, "dm", VACATION_QUESTION)
        assert "none of the knowledge I can search is shared with you" in reply.args["text"]
    finally:
        running.close()


def test_ask_in_a_dm_between_people_is_answered_to_the_asker_only(api, tmp_path):
    directory(api)
    running = Library(api, tmp_path / "bot.sqlite")
    try:
        api.fail("chat.postMessage", "channel_not_found")  # someone else's DM: the bot cannot post there
        body = slash_command(SALARY_QUESTION, api.response_url("ask"), channel="D0PEOPLE2", user=HR_MEMBER)
        send_form(running.bot.url, body.replace("channel_name=general", "channel_name=directmessage"))
        (sent,) = api.wait_for("response_url")
        assert sent.args["response_type"] == "ephemeral" and "70,000" in read(sent)
    finally:
        running.close()


# -- the tentative answer ---------------------------------------------------------


def test_i_dont_know_shows_the_tentative_span_marked_not_sure_with_its_source(api, tmp_path):
    guess = (("meal",), SALARY, "70,000 to 85,000 EUR", 0.12)
    answerer = FakeAnswerer(knowledge=[], tentative=guess)
    bot = RunningBot(api, answerer, tmp_path / "bot.sqlite")
    try:
        send_event(bot.url, message("what is the meal budget?", channel="D0TENT01"))
        (posted,) = api.wait_for("chat.postMessage")
    finally:
        bot.close()
    assert posted.args["text"] == "I couldn't find an answer to that in the knowledge base."  # never the answer
    text = read(posted)
    assert "*Not sure* (confidence 12%): the closest passage says" in text
    assert "*70,000 to 85,000 EUR*" in text and "Salary bands" in text and "hr/salary.md" in text


def test_a_tentative_answer_from_a_restricted_knowledge_base_is_not_shown_outside_it(library):
    library.hr.tentative = (("budget",), SALARY, "70,000 to 85,000 EUR", 0.12)
    try:
        library.reset()
        reply = ask(library, MEMBER, "dm", "what is the salary budget?")
        assert "Not sure" not in read(reply) and not any(s in read(reply) for s in SALARY_TEXT)
        library.reset()
        reply = ask(library, HR_MEMBER, "dm", "what is the budget?")
        assert "Not sure" in read(reply) and "*70,000 to 85,000 EUR*" in read(reply)
    finally:
        library.hr.tentative = None
