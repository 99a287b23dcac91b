"""create_app: the FastAPI app wired to an answerer, the bot's database and the page.

Errors have one body shape, `{"error": one sentence, "detail": ...}`: invalid
JSON is 400, an invalid field 422 (with pydantic's details), a body over
`MAX_BODY_BYTES` 413.
"""
from contextlib import asynccontextmanager
from typing import Any, Dict, List, Optional, Sequence

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..bot.store import BotStore
from ..results import Answerer
from .answering import AsyncAnswerer
from .api import protected, router
from .report import STATIC
from .settings import DEFAULT_MAX_BATCH, MAX_BODY_BYTES

DESCRIPTION = (
    "Extractive answers from your documents: each answer is a verbatim span of a passage, with its source and a "
    "calibrated confidence, or an honest \"I don't know\". Beyond 127.0.0.1, send `Authorization: Bearer TOKEN`."
)


def create_app(
    answerer: Answerer,
    store: BotStore,
    *,
    token: Optional[str] = None,
    documents: Optional[Sequence[str]] = None,
    max_batch: int = DEFAULT_MAX_BATCH,
    close_store: bool = False,
) -> FastAPI:
    """The app: `answerer` answers through a batching queue, answers and
    feedback go to `store`, `token` (None: none needed) guards every route but
    /healthz and the page, `documents` (the index's paths) lets Insights list
    those never used. `close_store`: close the store when the app shuts down."""
    answering = AsyncAnswerer(answerer, max_batch=max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        answering.close()
        if close_store:
            store.close()

    app = FastAPI(title="spacy-spanqa", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.answering = answering
    app.state.store = store
    app.state.token = token
    app.state.documents = list(documents) if documents is not None else None
    app.include_router(router)
    app.include_router(protected)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    detail = error.detail if isinstance(error.detail, str) else "The request failed."
    if error.status_code == 404 and detail == "Not Found":
        detail = f"There is no {request.url.path}; the API is described at /docs."
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; the API is described at /docs."
    return JSONResponse({"error": detail}, status_code=error.status_code, headers=getattr(error, "headers", None))


async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = list(error.errors())
    status = 400 if any(p.get("type") == "json_invalid" for p in problems) else 422
    return JSONResponse({"error": explain(problems), "detail": jsonable_encoder(problems)}, status_code=status)


def explain(problems: List[Dict[str, Any]]) -> str:
    """One sentence for the first problem pydantic found in a request."""
    if not problems:
        return "The request is invalid."
    first = problems[0]
    kind = first.get("type", "")
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if kind == "json_invalid":
        return 'The request body is not valid JSON; send an object like {"question": "How many vacation days do I get?"}.'
    if kind == "extra_forbidden":
        return f"Unknown field {field!r}; the fields are described at /docs."
    if kind == "missing" and not field:
        return 'The request has no JSON body; send an object like {"question": "How many vacation days do I get?"}.'
    if kind == "missing":
        return f"The field {field!r} is missing."
    if kind == "value_error":
        reason = str(first.get("ctx", {}).get("error") or first.get("msg", ""))
        return reason if reason.endswith(".") else reason + "."
    if kind == "model_attributes_type" or kind == "dict_type":
        return 'The request body must be a JSON object, like {"question": "How many vacation days do I get?"}.'
    message = str(first.get("msg", "is invalid")).rstrip(".")
    return f"{field or 'The body'}: {message[0].lower() + message[1:] if message else 'is invalid'}."


class BodyLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, before any route reads it."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:  # read it here (it is small) so a chunked body over the limit is refused too
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message], receive), send)
            chunks.append(message)
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size > self.max_bytes:
                return await self._too_large(scope, receive, send)
        await self.app(scope, _replay(chunks, receive), send)

    async def _too_large(self, scope, receive, send):
        kib = self.max_bytes // 1024
        response = JSONResponse({"error": f"The request body is over {kib} KiB; send fewer or shorter questions."}, 413)
        await response(scope, receive, send)


def _replay(messages, receive):
    """A `receive` that gives the messages already read, then waits on the real one (for a disconnect)."""
    pending = list(messages)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
