"""The FastAPI application: `create_app(settings)` wires storage, clock and routers under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError

from bot.api import (
    audit,
    auth,
    callbacks,
    calls,
    campaigns,
    contacts,
    dialer,
    dnc,
    handoffs,
    metrics,
    pacing,
    privacy,
    queues,
    webhooks,
)
from bot.config import Settings
from bot.contacts.importer import CsvFormatError
from bot.core.clock import Clock, SystemClock
from bot.core.errors import Conflict, InvalidInput, NotFound
from bot.core.phones import PhoneNormalizer
from bot.metrics.prometheus import CONTENT_TYPE, exposition
from bot.storage.db import Database

API_PREFIX = "/api/v1"
ERRORS: dict[type[Exception], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
}


def invalid(field: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape (as documented in the OpenAPI spec)."""
    detail = [{"loc": ["body", field] if field else ["body"], "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    return invalid(getattr(exc, "field", ""), str(exc))


async def _bad_csv(_request: Request, exc: Exception) -> JSONResponse:
    return invalid("file", str(exc))


async def _unstorable(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: a NUL character in text) is the request's fault: 422, not 500."""
    return invalid("", f"a value the database cannot store: {getattr(exc, 'orig', exc)}")


def create_api(settings: Settings, db: Database | None = None, clock: Clock | None = None) -> FastAPI:
    """The REST API over the configured database (migrated on creation); `bot.web.create_app` adds the dashboard."""
    app = FastAPI(
        title="voicebot", version="1", openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs"
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url, echo=settings.storage.echo)
    app.state.db.migrate()
    app.state.clock = clock or SystemClock()
    app.state.normalizer = PhoneNormalizer(settings.contacts.default_region)

    for error, code in ERRORS.items():

        async def handler(_request: Request, exc: Exception, code: int = code) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)

        app.add_exception_handler(error, handler)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(CsvFormatError, _bad_csv)
    app.add_exception_handler(DataError, _unstorable)

    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        campaigns,
        pacing,
        contacts,
        dialer,
        dnc,
        calls,
        callbacks,
        handoffs,
        queues,
        metrics,
        auth,
        webhooks,
        audit,
        privacy,
    ):
        v1.include_router(module.router)
    app.include_router(v1)

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        """Prometheus scrape endpoint, without authentication (aggregate counters only; see the README)."""
        return Response(exposition(request.app.state.db), media_type=CONTENT_TYPE)

    return app
