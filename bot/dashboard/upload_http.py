"""What the dashboard's list uploads (contacts, do-not-call numbers) share: receiving the file, problems as JSON
`{problem, message}` in the reader's language, the validation report and its CSV, and the import running in a
worker thread with its progress.

The page sends the file as the raw request body, counted as it arrives: an oversized one is refused without being
stored whole. Reading, checking and importing run in worker threads, never on the event loop."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from bot.access.session import Principal
from bot.api.auth import Scope, require
from bot.api.deps import EntityId
from bot.audit import AuditAction, record
from bot.config import Settings
from bot.contacts.errors import CsvFormatError
from bot.contacts.importer import ImportReport, read_table
from bot.contacts.upload_check import SKIPPING, CheckReport
from bot.core.errors import Conflict
from bot.dashboard import i18n
from bot.dashboard.routes import PREFIX, render
from bot.dashboard.uploads import ImportState, ListKind, Upload, Uploads
from bot.storage.models import ApiKey, Campaign

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX + "/campaigns/{campaign_id}/{kind}/uploads", include_in_schema=False)
Writer = Depends(require(Scope.WRITE))
Reader = Depends(require(Scope.READ))
WriterCaller = Annotated[ApiKey | Principal, Writer]  # who asked, for the audit log
PREVIEW_ROWS = 10
SHOWN_ISSUES = 500  # in the page; the error report has them all


def say(request: Request, key: str, **params: Any) -> str:
    return i18n.catalogue(i18n.language(request))[key].format(**params)


def problem(request: Request, code: int, key: str, **params: Any) -> JSONResponse:
    return JSONResponse({"problem": key, "message": say(request, f"upload.problem.{key}", **params)}, code)


def table_problem(request: Request, error: CsvFormatError) -> JSONResponse:
    return problem(request, status.HTTP_400_BAD_REQUEST, error.problem.value, detail=error.detail)


async def receive(
    request: Request, settings: Settings, campaign_id: int, kind: ListKind, filename: str
) -> tuple[Upload, list[str], list[list[str]]] | JSONResponse:
    """Store the request's body as a new upload and read it as a table (header, non-blank rows); a problem
    answer when it is too large or no table."""
    mb = f"{settings.dashboard.max_upload_mb:g}"
    limit = int(settings.dashboard.max_upload_mb * 1024 * 1024)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return problem(request, status.HTTP_413_CONTENT_TOO_LARGE, "too_big", mb=mb)
    uploads: Uploads = request.app.state.uploads
    upload = uploads.add(campaign_id, kind, filename)
    size = 0
    with upload.path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            await run_in_threadpool(out.write, chunk)
    if size > limit:
        uploads.discard(upload)
        return problem(request, status.HTTP_413_CONTENT_TOO_LARGE, "too_big", mb=mb)
    try:
        header, rows = await run_in_threadpool(read_table, upload.read())
    except CsvFormatError as error:
        uploads.discard(upload)
        return table_problem(request, error)
    return upload, header, [row for row in rows if row]


def uploaded(request: Request, campaign_id: int, kind: ListKind, token: str) -> Upload | None:
    return request.app.state.uploads.get(campaign_id, kind, token[:64])


def upload_page(
    request: Request,
    who: Principal,
    campaign: Campaign,
    settings: Settings,
    kind: ListKind,
    variables: tuple[list[str], list[str], list[str]] = ([], [], []),
) -> HTMLResponse:
    """The upload page of a campaign's list; `variables`: the script's required and optional variables and the
    campaign's own (contacts only)."""
    required, optional, campaign_variables = variables
    return render(
        request,
        "contacts.html",
        who,
        page="campaigns",
        campaign=campaign,
        max_mb=f"{settings.dashboard.max_upload_mb:g}",
        setup={
            "kind": kind.value,
            "campaign": campaign.id,
            "required": required,
            "optional": optional,
            "campaignVariables": campaign_variables,
            "maxBytes": int(settings.dashboard.max_upload_mb * 1024 * 1024),
        },
    )


async def preview(
    request: Request,
    settings: Settings,
    campaign_id: int,
    kind: ListKind,
    filename: str,
    suggest: Callable[[list[str]], dict[str, Any]],
) -> JSONResponse:
    """Receive the file (`receive`) and answer what the page shows of it: its columns, first rows and the mapping
    `suggest` makes of its header in a worker thread (a notice when no column looks like the phone)."""
    received = await receive(request, settings, campaign_id, kind, filename)
    if isinstance(received, JSONResponse):
        return received
    upload, header, rows = received
    mapping = await run_in_threadpool(suggest, header)
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


def guess_column(header: list[str], names: Iterable[str]) -> str:
    """The header of the first of `names` (lower case) a column is named like, ignoring case; "" when none is."""
    lowered = {name.lower(): name for name in header}
    return next((lowered[name] for name in names if name in lowered), "")


async def checked(
    request: Request, campaign_id: int, kind: ListKind, token: str, check: Callable[[Upload], CheckReport]
) -> JSONResponse:
    """Run `check` on the upload in a worker thread and keep its report for the import and the error CSV."""
    upload = uploaded(request, campaign_id, kind, token)
    if upload is None or not upload.path.exists():
        return problem(request, status.HTTP_404_NOT_FOUND, "gone")
    try:
        report = await run_in_threadpool(check, upload)
    except CsvFormatError as error:
        return table_problem(request, error)
    upload.report = report
    return JSONResponse(report_json(request, report))


def report_json(request: Request, report: CheckReport) -> dict[str, Any]:
    """The report as the page shows it: counts by kind and the first SHOWN_ISSUES issues with their reasons."""
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


@router.get("/{token}/errors.csv", dependencies=[Reader])
def error_report(request: Request, campaign_id: EntityId, kind: ListKind, token: str) -> Response:
    """Every issue of the last check: row, problem, reason (UTF-8 with BOM, `;` — as Russian Excel opens it)."""
    upload = uploaded(request, campaign_id, kind, token)
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
    name = f"campaign-{campaign_id}-{kind.value}-errors.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def audit_import(
    session: Session,
    action: AuditAction,
    actor: str,
    at: datetime,
    target: str,
    report: ImportReport,
    **more: int,
) -> dict[str, int]:
    """The counts of an import (rows, created, merged, skipped, then `more`), recorded in the audit log as `action`
    on `target`; `work` of `start` answers them."""
    counts = {
        "rows": report.rows,
        "created": report.created,
        "merged": report.merged,
        "skipped": len(report.errors),
        **more,
    }
    record(session, action, actor=actor, at=at, target=target, detail=counts)
    return counts


def start(
    request: Request, campaign_id: int, kind: ListKind, token: str, work: Callable[[Upload], dict[str, int]]
) -> JSONResponse:
    """Run `work(upload)` (the import, answering its counts) in a worker thread; the page follows it with
    GET …/uploads/{token}. An upload imports once."""
    upload = uploaded(request, campaign_id, kind, token)
    if upload is not None and upload.state is not ImportState.UPLOADED:
        return problem(request, status.HTTP_409_CONFLICT, "already_imported")
    if upload is None or not upload.path.exists():
        return problem(request, status.HTTP_404_NOT_FOUND, "gone")
    upload.state = ImportState.RUNNING
    state = request.app.state
    task = asyncio.create_task(asyncio.to_thread(_run, state.uploads, upload, work))
    state.upload_tasks.add(task)
    task.add_done_callback(state.upload_tasks.discard)
    return JSONResponse(_progress_json(request, upload), status.HTTP_202_ACCEPTED)


def _run(uploads: Uploads, upload: Upload, work: Callable[[Upload], dict[str, int]]) -> None:
    try:
        upload.result = work(upload)
        upload.state = ImportState.DONE
    except CsvFormatError as error:
        upload.error, upload.state = f"{error.problem.value}\n{error.detail}", ImportState.FAILED
    except Conflict:
        upload.error, upload.state = "closed\n", ImportState.FAILED
    except Exception:
        log.exception("import of upload %s failed", upload.token)
        upload.error, upload.state = "failed\n", ImportState.FAILED
    finally:
        uploads.discard(upload)


@router.get("/{token}", dependencies=[Reader])
def import_progress(request: Request, campaign_id: EntityId, kind: ListKind, token: str) -> JSONResponse:
    upload = uploaded(request, campaign_id, kind, token)
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
