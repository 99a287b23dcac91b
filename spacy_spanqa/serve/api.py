"""The routes: POST /ask, feedback, insights (HTML, JSON, CSV), /healthz and the web page.

Every route but /healthz, the page and its static files needs the bearer
token when the server has one. Answers go through the answer queue and are
recorded in the bot's database with an id, so votes and corrections attach.
"""
import asyncio
import logging
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Union

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..bot.feedback import find_gold_span
from ..bot.knowledge import ScopedResult
from ..bot.settings import DEFAULT_KNOWLEDGE_BASE
from ..bot.store import BotStore
from ..results import QAResult
from .answering import AsyncAnswerer, Busy
from .insights import csv_tables, read_insights, to_csv
from .models import AnswerResponse, AskRequest, BatchResponse, CorrectionRequest, ErrorBody, FeedbackSaved, Health, VoteRequest
from .report import STATIC, insights_html
from .security import token_matches
from .settings import WEB_CHANNEL

logger = logging.getLogger("spacy_spanqa.serve")
bearer = HTTPBearer(auto_error=False, description="The server's API token (--token or SPANQA_TOKEN).")
ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 404, 413, 422, 503, 504)}


def require_token(request: Request, credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
    """401 unless the server has no token or the request carries it as a bearer header."""
    token: Optional[str] = request.app.state.token
    if token is None:
        return
    if credentials is None:
        raise HTTPException(401, "This server needs its API token: send `Authorization: Bearer TOKEN`.",
                            headers={"WWW-Authenticate": "Bearer"})
    if not token_matches(f"{credentials.scheme} {credentials.credentials}", token):
        raise HTTPException(401, "Wrong API token: send the token the server was started with (--token or SPANQA_TOKEN).",
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter()
protected = APIRouter(dependencies=[Depends(require_token)], responses=ERRORS)


def _answering(request: Request) -> AsyncAnswerer:
    return request.app.state.answering


def _store(request: Request) -> BotStore:
    return request.app.state.store


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/healthz", response_model=Health, tags=["server"])
def healthz(request: Request) -> Health:
    """Up, with the knowledge bases served and the database written to (no token needed)."""
    documents = request.app.state.documents
    return Health(status="ok", knowledge_bases=list(_answering(request).knowledge_bases), database=_store(request).name,
                  documents=len(documents) if documents is not None else None)


@protected.post("/ask", response_model=Union[AnswerResponse, BatchResponse], tags=["answers"])
async def ask(body: AskRequest, request: Request) -> Union[AnswerResponse, BatchResponse]:
    """Answer one question (`question`) or a batch (`questions`) from the knowledge base.

    Each answer is a verbatim span of a passage, with its source, a calibrated
    score and an `answer_id` for feedback; `answered: false` is "I don't know",
    with the closest sources and, when the reader has one, a tentative answer.
    """
    questions = body.batch
    try:
        outcomes = await _answering(request).ask_many(questions)
    except Busy:
        raise HTTPException(503, "The server is busy answering other questions; retry in a few seconds.",
                            headers={"Retry-After": "5"}) from None
    except asyncio.TimeoutError:
        raise HTTPException(504, "Answering took too long; retry, or ask fewer questions at once.") from None
    for question, outcome in zip(questions, outcomes):
        if isinstance(outcome, ValueError):
            raise HTTPException(422, str(outcome))
        if isinstance(outcome, Exception):
            logger.error("Answering %r failed: %s", question, outcome, exc_info=outcome)
            raise HTTPException(500, "Answering failed on the server; its log says why.")
    store = _store(request)
    responses = await run_in_threadpool(_record_all, store, questions, outcomes, body.user)
    return responses[0] if body.question is not None else BatchResponse(results=responses)


def _record_all(store: BotStore, questions: List[str], results: List[QAResult], user: Optional[str]) -> List[AnswerResponse]:
    out = []
    for question, result in zip(questions, results):
        scoped = isinstance(result, ScopedResult)
        answer_id = store.record_answer(
            result, channel=WEB_CHANNEL, thread_ts=None, asked_by=user, asked_text=question,
            knowledge_bases=result.searched if scoped else (DEFAULT_KNOWLEDGE_BASE,),
            passage_sources=result.passage_sources if scoped else None,
            answered_from=result.answered_from if scoped else None,
        )
        out.append(AnswerResponse.of(answer_id, result))
    return out


def _stored_answer(store: BotStore, answer_id: str) -> Dict[str, Any]:
    stored = store.answer(answer_id)
    if stored is None:
        raise HTTPException(404, f"No answer has the id {answer_id!r}; vote on an answer_id that POST /ask returned.")
    return stored


@protected.post("/feedback/vote", response_model=FeedbackSaved, tags=["feedback"])
def vote(body: VoteRequest, request: Request) -> FeedbackSaved:
    """Helpful or Not helpful on an answer (one vote per user and answer: a new vote replaces it)."""
    store = _store(request)
    _stored_answer(store, body.answer_id)
    store.record_vote(body.answer_id, body.user, body.vote)
    return FeedbackSaved(answer_id=body.answer_id, saved=f"Recorded your vote: {body.vote.replace('_', ' ')}.")


@protected.post("/feedback/correction", response_model=FeedbackSaved, tags=["feedback"])
def correction(body: CorrectionRequest, request: Request) -> FeedbackSaved:
    """The right answer (or that the documents don't answer it); where the text
    occurs in a passage read, it becomes a training span (`spanqa-bot feedback export`)."""
    store = _store(request)
    stored = _stored_answer(store, body.answer_id)
    if body.no_answer:
        store.record_correction(body.answer_id, body.user, text=None, no_answer=True)
        return FeedbackSaved(answer_id=body.answer_id, saved="Recorded that the documents don't answer this.")
    found = find_gold_span(body.text or "", stored["passages"], stored["passage_index"])
    if found is None:
        store.record_correction(body.answer_id, body.user, text=(body.text or "").strip())
        return FeedbackSaved(answer_id=body.answer_id, found_in_passage=False,
                             saved="Recorded your answer; it is in none of the passages read, so the report lists it.")
    index, start, gold = found
    store.record_correction(body.answer_id, body.user, text=gold, passage_index=index, answer_start=start)
    where = stored["passages"][index].get("title") or stored["passages"][index].get("path") or "a passage read"
    return FeedbackSaved(answer_id=body.answer_id, found_in_passage=True, saved=f"Recorded your answer, found in {where}.")


def _insights(request: Request, knowledge_base: Optional[List[str]] = None):
    return read_insights(_store(request), request.app.state.documents, knowledge_base or None)


@protected.get("/insights", response_class=HTMLResponse, tags=["insights"])
def insights_page(request: Request) -> HTMLResponse:
    """The Insights page: questions per day, share answered, confidence, votes,
    unanswered questions grouped, documents used and never used."""
    return HTMLResponse(insights_html(_insights(request)))


@protected.get("/insights.json", tags=["insights"])
def insights_json(request: Request) -> Dict[str, Any]:
    """The same numbers as JSON."""
    data = asdict(_insights(request))
    for group in data["unanswered"]:
        group["key_words"] = sorted(group["key_words"])
    return data


@protected.get("/insights/{name}.csv", response_class=PlainTextResponse, tags=["insights"])
def insights_csv(name: str, request: Request) -> PlainTextResponse:
    """One section as CSV: questions_per_day, confidence, votes, unanswered, documents, unused_documents."""
    tables = csv_tables(_insights(request))
    if name not in tables:
        raise HTTPException(404, f"No insights table {name!r}; choose one of {', '.join(tables)}.")
    return PlainTextResponse(to_csv(tables[name]), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
