"""Dashboard: a campaign's contact upload (file → preview → column mapping → validation report → import with
progress, error report as CSV) and its results as CSV or XLSX.

The page sends the file as the raw request body (counted as it arrives, so an oversized one is refused without
being stored whole); reading, checking and importing run in worker threads, never on the event loop. Problems
come back as JSON `{problem, message}` with the message in the reader's language."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import Scope, require
from bot.api.deps import AppSettings, DbSession, EntityId
from bot.campaigns import service
from bot.campaigns.results import MEDIA_TYPES, ResultFormat, contact_results, results_csv, results_xlsx
from bot.contacts.errors import CsvFormatError
from bot.contacts.importer import (
    NAME_HEADERS,
    PHONE_HEADERS,
    REGION_HEADERS,
    TIMEZONE_HEADERS,
    ColumnMapping,
    open_table,
    read_table,
)
from bot.contacts.upload_check import SKIPPING, CheckReport, campaign_facts, check_table
from bot.dashboard import i18n
from bot.dashboard.routes import PREFIX, User, render
from bot.dashboard.uploads import ImportState, Upload, Uploads
from bot.dialog.catalogue import load_catalogue
from bot.storage.models import Campaign

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX + "/campaigns/{campaign_id}", include_in_schema=False)
Writer = Depends(require(Scope.WRITE))
PREVIEW_ROWS = 10
SHOWN_ISSUES = 500  # in the page; the error report has them all


class MappingIn(BaseModel):
    """Column headers for each contact field; variables: script variable → header."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=200)
    name: str = Field("", max_length=200)
    timezone: str = Field("", max_length=200)
    region: str = Field("", max_length=200)
    variables: dict[str, str] = Field({}, max_length=100)

    def columns(self) -> ColumnMapping:
        return ColumnMapping(self.phone, self.name, self.timezone, self.region, dict(self.variables))


def say(request: Request, key: str, **params: Any) -> str:
    return i18n.catalogue(i18n.language(request))[key].format(**params)


def problem(request: Request, code: int, key: str, **params: Any) -> JSONResponse:
    return JSONResponse({"problem": key, "message": say(request, f"upload.problem.{key}", **params)}, code)


def table_problem(request: Request, error: CsvFormatError) -> JSONResponse:
    return problem(request, status.HTTP_400_BAD_REQUEST, error.problem.value, detail=error.detail)


def _script_variables(settings: Any, script: str) -> tuple[list[str], list[str]]:
    """(required, optional) variable names of a script."""
    found = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).scripts.get(script)
    if found is None:
        return [], []
    variables = found.variables.items()
    return [n for n, v in variables if not v.optional], [n for n, v in variables if v.optional]


# -- the page ---------------------------------------------------------------------------------------------------


@router.get("/contacts", response_class=HTMLResponse)
def contacts_page(
    request: Request, who: User, campaign_id: EntityId, session: DbSession, settings: AppSettings
) -> HTMLResponse:
    campaign = service.get(session, campaign_id)
    required, optional = _script_variables(settings, campaign.script)
    return render(
        request,
        "contacts.html",
        who,
        page="campaigns",
        campaign=campaign,
        max_mb=f"{settings.dashboard.max_upload_mb:g}",
        setup={
            "campaign": campaign.id,
            "required": required,
            "optional": optional,
            "campaignVariables": sorted(campaign.variables),
            "maxBytes": int(settings.dashboard.max_upload_mb * 1024 * 1024),
        },
    )


# -- upload, check, import --------------------------------------------------------------------------------------


@router.post("/contacts/uploads", dependencies=[Writer])
async def upload_file(
    request: Request, campaign_id: EntityId, settings: AppSettings, filename: str = ""
) -> JSONResponse:
    """The file as the raw body; answers its columns, first rows and a suggested mapping."""
    limit = int(settings.dashboard.max_upload_mb * 1024 * 1024)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return problem(
            request, status.HTTP_413_CONTENT_TOO_LARGE, "too_big", mb=f"{settings.dashboard.max_upload_mb:g}"
        )
    with request.app.state.db.session() as session:
        campaign = service.get(session, campaign_id)
        remembered = dict(campaign.contact_mapping)
        script = campaign.script
    uploads: Uploads = request.app.state.uploads
    upload = uploads.add(campaign_id, filename)
    size = 0
    with upload.path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            await run_in_threadpool(out.write, chunk)
    if size > limit:
        uploads.discard(upload)
        return problem(
            request, status.HTTP_413_CONTENT_TOO_LARGE, "too_big", mb=f"{settings.dashboard.max_upload_mb:g}"
        )
    try:
        header, rows = await run_in_threadpool(_head_of, upload)
    except CsvFormatError as error:
        uploads.discard(upload)
        return table_problem(request, error)
    required, optional = await run_in_threadpool(_script_variables, settings, script)
    mapping = suggest_mapping(header, [*required, *optional], remembered)
    notice = (
        "" if mapping["phone"] else say(request, "upload.problem.no_phone_column", detail=", ".join(header))
    )
    return JSONResponse(
        {
            "token": upload.token,
            "filename": upload.filename,
            "columns": header,
            "preview": rows[:PREVIEW_ROWS],
            "rows": len(rows),
            "mapping": mapping,
            "notice": notice,
        }
    )


def _head_of(upload: Upload) -> tuple[list[str], list[list[str]]]:
    header, rows = read_table(upload.read())
    return header, [row for row in rows if row]


def suggest_mapping(header: list[str], variables: list[str], remembered: dict[str, Any]) -> dict[str, Any]:
    """The campaign's last mapping when this file has all its columns; else columns named like the fields
    (Russian or English) or like the script's variables."""
    known = set(header)
    used = [remembered.get(f) for f in ("phone", "name", "timezone", "region")]
    used += list(remembered.get("variables", {}).values())
    if remembered.get("phone") and all(column in known for column in used if column):
        return remembered
    lowered = {name.lower(): name for name in header}

    def guess(names: tuple[str, ...]) -> str:
        return next((lowered[n] for n in names if n in lowered), "")

    return {
        "phone": guess(PHONE_HEADERS),
        "name": guess(NAME_HEADERS),
        "timezone": guess(TIMEZONE_HEADERS),
        "region": guess(REGION_HEADERS),
        "variables": {v: lowered[v.lower()] for v in variables if v.lower() in lowered and v != "name"},
    }


def _uploaded(request: Request, campaign_id: int, token: str) -> Upload | None:
    return request.app.state.uploads.get(campaign_id, token[:64])


@router.post("/contacts/uploads/{token}/check", dependencies=[Writer])
async def check_upload(
    request: Request, campaign_id: EntityId, token: str, mapping: MappingIn, settings: AppSettings
) -> JSONResponse:
    """The validation report of the file under `mapping`: counts and the rows with reasons."""
    upload = _uploaded(request, campaign_id, token)
    if upload is None or not upload.path.exists():
        return problem(request, status.HTTP_404_NOT_FOUND, "gone")
    try:
        report = await run_in_threadpool(_check, request.app.state, settings, upload, mapping.columns())
    except CsvFormatError as error:
        return table_problem(request, error)
    upload.report = report
    return JSONResponse(_report_json(request, report))


def _check(state: Any, settings: Any, upload: Upload, mapping: ColumnMapping) -> CheckReport:
    table = open_table(upload.read(), mapping)
    with state.db.session() as session:
        campaign = service.get(session, upload.campaign_id)
        required, _ = _script_variables(settings, campaign.script)
        facts = campaign_facts(session, campaign.id, set(required), set(campaign.variables))
    return check_table(table, state.normalizer, facts)


def _report_json(request: Request, report: CheckReport) -> dict[str, Any]:
    counts = report.counts()
    return {
        "rows": report.rows,
        "imported": report.imported,
        "skipped": sum(counts.get(kind.value, 0) for kind in SKIPPING),
        "counts": [
            {"kind": kind, "label": say(request, f"upload.issue.{kind}"), "count": count}
            for kind, count in sorted(counts.items())
        ],
        "issues": [
            {
                "row": issue.row,
                "kind": issue.kind.value,
                "reason": _reason(request, issue.kind.value, issue.value),
            }
            for issue in report.issues[:SHOWN_ISSUES]
        ],
        "more": max(0, len(report.issues) - SHOWN_ISSUES),
    }


def _reason(request: Request, kind: str, value: str) -> str:
    return say(request, f"upload.reason.{kind}", value=value)


@router.get("/contacts/uploads/{token}/errors.csv", dependencies=[Depends(require(Scope.READ))])
def error_report(request: Request, campaign_id: EntityId, token: str) -> Response:
    """Every issue of the last check: row, problem, reason (UTF-8 with BOM, `;` — as Russian Excel opens it)."""
    upload = _uploaded(request, campaign_id, token)
    if upload is None or upload.report is None:
        return problem(request, status.HTTP_404_NOT_FOUND, "not_checked")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [say(request, "upload.row"), say(request, "upload.problem"), say(request, "upload.reason")]
    )
    for issue in upload.report.issues:
        reason = _reason(request, issue.kind.value, issue.value)
        label = say(request, f"upload.issue.{issue.kind.value}")
        writer.writerow([issue.row, label, "'" + reason if reason[:1] in "=+-@" else reason])
    name = f"campaign-{campaign_id}-contact-errors.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/contacts/uploads/{token}/import", dependencies=[Writer], status_code=202)
async def start_import(
    request: Request, campaign_id: EntityId, token: str, mapping: MappingIn
) -> JSONResponse:
    """Start importing in the background; the page follows it with GET …/uploads/{token}."""
    upload = _uploaded(request, campaign_id, token)
    if upload is not None and upload.state is not ImportState.UPLOADED:
        return problem(request, status.HTTP_409_CONFLICT, "already_imported")
    if upload is None or not upload.path.exists():
        return problem(request, status.HTTP_404_NOT_FOUND, "gone")
    upload.state = ImportState.RUNNING
    task = asyncio.create_task(asyncio.to_thread(_import, request.app.state, upload, mapping))
    request.app.state.upload_tasks.add(task)
    task.add_done_callback(request.app.state.upload_tasks.discard)
    return JSONResponse(_progress_json(request, upload), status.HTTP_202_ACCEPTED)


def _import(state: Any, upload: Upload, mapping: MappingIn) -> None:
    """Import the file and remember the mapping for the campaign (in a worker thread)."""
    try:
        report = service.import_contacts(
            state.db, upload.campaign_id, upload.read(), mapping.columns(), state.normalizer, state.clock.now(),
            upload.progress,
        )  # fmt: skip
        with state.db.session() as session:
            campaign = session.get(Campaign, upload.campaign_id)
            if campaign is not None:
                campaign.contact_mapping = mapping.model_dump()
        upload.result = {
            "rows": report.rows,
            "created": report.created,
            "merged": report.merged,
            "skipped": len(report.errors),
            "do_not_call": report.do_not_call,
        }
        upload.state = ImportState.DONE
    except CsvFormatError as error:
        upload.error, upload.state = f"{error.problem.value}\n{error.detail}", ImportState.FAILED
    except service.Conflict:
        upload.error, upload.state = "closed\n", ImportState.FAILED
    except Exception:
        log.exception("contact import of upload %s failed", upload.token)
        upload.error, upload.state = "failed\n", ImportState.FAILED
    finally:
        state.uploads.discard(upload)


@router.get("/contacts/uploads/{token}", dependencies=[Depends(require(Scope.READ))])
def import_progress(request: Request, campaign_id: EntityId, token: str) -> JSONResponse:
    upload = _uploaded(request, campaign_id, token)
    if upload is None:
        return problem(request, status.HTTP_404_NOT_FOUND, "gone")
    return JSONResponse(_progress_json(request, upload))


def _progress_json(request: Request, upload: Upload) -> dict[str, Any]:
    message = ""
    if upload.error:
        key, detail = upload.error.split("\n", 1)
        message = say(request, f"upload.problem.{key}", detail=detail)
    return {
        "state": upload.state.value,
        "done": upload.done,
        "total": upload.total,
        "result": upload.result,
        "message": message,
    }


# -- results ----------------------------------------------------------------------------------------------------


@router.get("/results.{fmt}")
async def results(request: Request, who: User, campaign_id: EntityId, fmt: ResultFormat) -> Response:
    """One row per contact: attempts, last outcome and slots, last call, recording link."""
    db = request.app.state.db
    base = str(request.base_url)
    with db.session() as session:
        service.get(session, campaign_id)
    name = quote(f"campaign-{campaign_id}-results.{fmt.value}")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt is ResultFormat.XLSX:

        def workbook() -> bytes:
            with db.session() as session:
                return results_xlsx(contact_results(session, campaign_id, base))

        return Response(await run_in_threadpool(workbook), media_type=MEDIA_TYPES[fmt], headers=headers)

    def lines() -> Iterator[str]:
        with db.session() as session:
            yield from results_csv(contact_results(session, campaign_id, base))

    return StreamingResponse(lines(), media_type=MEDIA_TYPES[fmt], headers=headers)
