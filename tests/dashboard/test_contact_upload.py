"""The dashboard's contact upload over HTTP (file → preview → check → import, the error report, the mapping
remembered) and its bad input: oversized, binary, no phone column, XLSX with merged cells; results as CSV/XLSX."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import python_calamine
import xlsxwriter
from sqlalchemy import select

from bot.api.auth import Scope
from bot.campaigns import service
from bot.contacts import dnc
from bot.storage.models import Attempt, Call, Campaign, Contact, DoNotCall

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
RU = {"accept-language": "ru", "X-Voicebot-Dashboard": "1"}
EN = {"accept-language": "en", "X-Voicebot-Dashboard": "1"}
CP1251_LIST = (
    "ФИО;Телефон;Сумма;Срок\n"
    "Иванов Иван;8 (916) 123-45-67;1500;2026-12-20\n"
    "Петров Пётр;не знаю;200;2026-12-20\n"
    "Сидорова Анна;+7 383 212 34 56;;2026-12-21\n"
    "Иванов И.;8-916-123-45-67;1600;2026-12-20\n"
    "Кузнецов Олег;+7 916 000 11 22;300;2026-12-22\n"
).encode("cp1251")
MAPPING = {"phone": "Телефон", "name": "ФИО", "variables": {"amount": "Сумма", "due_date": "Срок"}}


def make_campaign(dashboard, name: str = "Напоминание") -> int:
    with dashboard.db.session() as session:
        spec = service.CampaignSpec(name=name, script="reminder", variables={"company": "Банк Восток"})
        return service.create(session, spec, {"reminder"}, NOW).id


def upload(dashboard, campaign_id: int, data: bytes, name: str = "list.csv", headers=RU):
    return dashboard.client.post(
        f"/dashboard/campaigns/{campaign_id}/contacts/uploads",
        params={"filename": name},
        content=data,
        headers={**headers, "content-type": "application/octet-stream"},
    )


def finish_import(dashboard, campaign_id: int, token: str, mapping: dict) -> dict:
    base = f"/dashboard/campaigns/{campaign_id}/contacts/uploads/{token}"
    started = dashboard.client.post(f"{base}/import", json=mapping, headers=RU)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = dashboard.client.get(base, headers=RU).json()
        if state["state"] != "running":
            return state
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def campaign_with_the_list(dashboard) -> tuple[int, str]:
    """A new campaign with `CP1251_LIST` imported by a logged-in user (`MAPPING`); its id and the upload's token."""
    campaign_id = make_campaign(dashboard)
    dashboard.login()
    token = upload(dashboard, campaign_id, CP1251_LIST).json()["token"]
    assert finish_import(dashboard, campaign_id, token, MAPPING)["state"] == "done"
    return campaign_id, token


def xlsx(rows: list[list], merge: str = "", formula: tuple[int, int, str, int] | None = None) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    for index, row in enumerate(rows):
        sheet.write_row(index, 0, row)
    if formula:
        sheet.write_formula(formula[0], formula[1], formula[2], None, formula[3])
    if merge:
        sheet.merge_range(merge, "слито")
    book.close()
    return out.getvalue()


def test_a_windows_1251_list_is_previewed_checked_with_reasons_and_imported_with_its_mapping_remembered(
    dashboard,
):
    campaign_id = make_campaign(dashboard)
    with dashboard.db.session() as session:
        dnc.add(session, "+79160001122", NOW, reason="просил не звонить")
    dashboard.login()

    answer = upload(dashboard, campaign_id, CP1251_LIST)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["columns"] == ["ФИО", "Телефон", "Сумма", "Срок"]
    assert shown["preview"][1] == ["Петров Пётр", "не знаю", "200", "2026-12-20"]
    assert shown["rows"] == 5 and shown["notice"] == ""
    assert shown["mapping"]["phone"] == "Телефон" and shown["mapping"]["name"] == "ФИО"

    base = f"/dashboard/campaigns/{campaign_id}/contacts/uploads/{shown['token']}"
    report = dashboard.client.post(f"{base}/check", json=MAPPING, headers=RU).json()
    assert (report["rows"], report["imported"], report["skipped"]) == (5, 4, 1)
    issues = {(issue["row"], issue["kind"]): issue["reason"] for issue in report["issues"]}
    assert issues[(3, "bad_phone")] == "Неверный номер телефона: «не знаю». Строка не будет загружена."
    assert "amount" in issues[(4, "missing_variables")]
    assert issues[(5, "duplicate")].startswith("Тот же номер, что в строке 2")
    assert "+79160001122" in issues[(6, "do_not_call")]
    assert len(issues) == 4

    errors = dashboard.client.get(f"{base}/errors.csv", headers={"accept-language": "en"})
    assert errors.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Row", "Issue", "Details"]
    assert ["3", "bad number", "Not a valid phone number: “не знаю”. The row will be skipped."] in lines

    done = finish_import(dashboard, campaign_id, shown["token"], MAPPING)
    assert done["state"] == "done", done
    assert done["result"] == {"rows": 5, "created": 3, "merged": 1, "skipped": 1, "do_not_call": 1}
    assert done["done"] == done["total"] == 5
    with dashboard.db.session() as session:
        contacts = {
            c.phone: c for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign_id))
        }
        remembered = session.get(Campaign, campaign_id).contact_mapping
    assert contacts["+79161234567"].name == "Иванов И."  # the later duplicate's values win
    assert contacts["+79161234567"].variables == {"amount": "1600", "due_date": "2026-12-20"}
    assert contacts["+79160001122"].state == "dnc"
    assert remembered["phone"] == "Телефон" and remembered["variables"] == MAPPING["variables"]

    again = upload(dashboard, campaign_id, CP1251_LIST).json()
    assert again["mapping"]["variables"] == MAPPING["variables"]  # remembered, not guessed
    repeat = dashboard.client.post(f"{base}/import", json=MAPPING, headers=RU)
    assert repeat.status_code == 409 and repeat.json()["problem"] == "already_imported"


def test_an_xlsx_list_reads_numbers_as_typed_and_formulas_by_their_cached_values(dashboard):
    campaign_id = make_campaign(dashboard)
    dashboard.login()
    data = xlsx(
        [
            ["Телефон", "ФИО", "amount", "due_date"],
            [79161234567, "Иван", 1500, "2026-12-20"],
            ["+79161234568", "Пётр"],
        ],
        formula=(2, 2, "=C2*2", 3000),
    )
    shown = upload(dashboard, campaign_id, data, "list.xlsx").json()
    assert shown["preview"] == [
        ["79161234567", "Иван", "1500", "2026-12-20"],
        ["+79161234568", "Пётр", "3000", ""],
    ]
    assert shown["mapping"]["variables"] == {"amount": "amount", "due_date": "due_date"}
    done = finish_import(dashboard, campaign_id, shown["token"], shown["mapping"])
    assert done["result"]["created"] == 2
    with dashboard.db.session() as session:
        stored = session.scalar(select(Contact).where(Contact.phone == "+79161234568"))
    assert stored.variables == {"amount": "3000"}


def test_bad_files_get_a_clear_message_and_the_server_keeps_serving(dashboard):
    campaign_id = make_campaign(dashboard)
    dashboard.login()
    settings = dashboard.client.app.state.settings
    dashboard.client.app.state.settings = settings.model_copy(
        update={"dashboard": settings.dashboard.model_copy(update={"max_upload_mb": 0.01})}
    )
    too_big = upload(dashboard, campaign_id, b"phone\n" + b"+79161234567\n" * 2000)
    assert too_big.status_code == 413
    assert too_big.json()["message"] == "Файл больше 0.01 МБ. Разделите его на части."
    dashboard.client.app.state.settings = settings

    for garbage in (bytes(range(256)) * 64, b"\x89PNG\r\n\x1a\n" + bytes(2000), b"PK\x03\x04 broken zip"):
        answer = upload(dashboard, campaign_id, garbage, "photo.png", headers=EN)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {
            "problem": "not_a_table",
            "message": "The file is not a table: upload CSV (UTF-8 or Windows-1251) or XLSX.",
        }

    no_phone = upload(dashboard, campaign_id, "ФИО;Сумма\nИван;100\n".encode("cp1251")).json()
    assert no_phone["mapping"]["phone"] == ""
    assert no_phone["notice"].startswith("Не найден столбец с телефоном. Столбцы файла: ФИО, Сумма.")
    wrong = dashboard.client.post(
        f"/dashboard/campaigns/{campaign_id}/contacts/uploads/{no_phone['token']}/check",
        json={"phone": "Телефон"},
        headers=RU,
    )
    assert wrong.status_code == 400 and wrong.json()["message"] == "В файле нет столбца «Телефон»."

    merged = upload(
        dashboard, campaign_id, xlsx([["phone", "name"], ["+79161234567", "Иван"]], merge="A4:B5")
    )
    assert merged.status_code == 400
    assert merged.json()["message"].startswith("В таблице есть объединённые ячейки (A4:B5).")

    empty = upload(dashboard, campaign_id, b"")
    assert empty.status_code == 400 and empty.json()["problem"] == "empty"
    assert dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/contacts").status_code == 200


def test_uploads_need_a_writer_and_the_dashboard_header(dashboard):
    campaign_id = make_campaign(dashboard)
    dashboard.login(Scope.READ)
    assert upload(dashboard, campaign_id, CP1251_LIST).status_code == 403
    dashboard.login(Scope.WRITE)
    without_header = dashboard.client.post(
        f"/dashboard/campaigns/{campaign_id}/contacts/uploads", content=CP1251_LIST
    )
    assert without_header.status_code == 403
    other = make_campaign(dashboard, "Другая")
    token = upload(dashboard, campaign_id, CP1251_LIST).json()["token"]
    foreign = dashboard.client.post(
        f"/dashboard/campaigns/{other}/contacts/uploads/{token}/check", json=MAPPING, headers=RU
    )
    assert foreign.status_code == 404  # an upload belongs to its campaign


def test_results_as_csv_and_xlsx_one_row_per_contact_with_the_last_call(dashboard):
    campaign_id, _ = campaign_with_the_list(dashboard)
    with dashboard.db.session() as session:
        ivan = session.scalar(select(Contact).where(Contact.phone == "+79161234567"))
        ivan.attempts, ivan.state = 2, "done"
        for number, outcome in ((1, ""), (2, "confirmed")):
            attempt = Attempt(
                campaign_id=campaign_id, contact_id=ivan.id, phone=ivan.phone, number=number, state="done",
                started_at=NOW + timedelta(hours=number), finished_at=NOW + timedelta(hours=number, minutes=1),
                result="answered" if outcome else "no_answer",
            )  # fmt: skip
            session.add(attempt)
            session.flush()
        session.add(
            Call(
                call_id="call-2", direction="outbound", state="ended", attempt_id=attempt.id,
                campaign_id=campaign_id, started_at=NOW, recording_path="/tmp/call-2.wav", outcome=outcome,
                slots={"confirmed": True, "card": "4111 1111 1111 1111"},
            )
        )  # fmt: skip

    answer = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/results.csv")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == 3  # the contacts, not the attempts
    ivan_row = next(row for row in rows if row["phone"] == "+79161234567")
    assert ivan_row["attempts"] == "2" and ivan_row["outcome"] == "confirmed"
    assert ivan_row["slots"] == '{"confirmed": true, "card": "[card •••• 1111]"}'  # identifiers masked
    assert ivan_row["last_call"] == "2026-12-05T11:01:00+00:00"
    assert ivan_row["recording"] == "http://testserver/api/v1/calls/call-2/recording"
    untouched = next(row for row in rows if row["phone"] == "+73832123456")
    assert (untouched["attempts"], untouched["outcome"], untouched["recording"]) == ("0", "", "")

    book = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/results.xlsx")
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(book.content)).get_sheet_by_index(0)
    table = sheet.to_python()
    assert table[0][:6] == ["contact_id", "phone", "name", "state", "attempts", "outcome"]
    assert ["+79161234567", "Иванов И.", "done", 2.0, "confirmed"] in [row[1:6] for row in table]

    dashboard.client.cookies.clear()
    assert (
        dashboard.client.get(
            f"/dashboard/campaigns/{campaign_id}/results.csv", follow_redirects=False
        ).status_code
        == 303
    )


def test_a_do_not_call_list_uploads_the_same_way_for_the_campaign_or_for_every_campaign(dashboard):
    campaign_id, contacts_token = campaign_with_the_list(dashboard)
    with dashboard.db.session() as session:
        dnc.add(session, "+79031112233", NOW, campaign_id=campaign_id)
    numbers = (
        "Номер;Причина\n8 903 111-22-33;жалоба\nне номер;\n8 (383) 212-34-56;просил\n+7 383 212 34 56;\n"
    )
    base = f"/dashboard/campaigns/{campaign_id}/dnc/uploads"
    shown = dashboard.client.post(
        base, content=numbers.encode("cp1251"), headers={**RU, "content-type": "application/octet-stream"}
    ).json()
    assert shown["mapping"] == {"phone": "Номер"} and shown["rows"] == 4
    assert dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/dnc").status_code == 200

    report = dashboard.client.post(
        f"{base}/{shown['token']}/check", json={"phone": "Номер"}, headers=RU
    ).json()
    assert [(issue["row"], issue["kind"]) for issue in report["issues"]] == [
        (2, "already_listed"),
        (3, "bad_phone"),
        (5, "duplicate"),
    ]
    assert report["issues"][0]["reason"] == "Номер +79031112233 уже в списке «не звонить»."
    everywhere = dashboard.client.post(
        f"{base}/{shown['token']}/check", json={"phone": "Номер", "everywhere": True}, headers=RU
    ).json()
    assert "already_listed" not in {
        issue["kind"] for issue in everywhere["issues"]
    }  # the global list is empty

    started = dashboard.client.post(
        f"{base}/{shown['token']}/import", json={"phone": "Номер", "everywhere": True}, headers=RU
    )
    assert started.status_code == 202
    deadline = time.monotonic() + 30
    while (state := dashboard.client.get(f"{base}/{shown['token']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["result"] == {"rows": 4, "created": 2, "merged": 1, "skipped": 1}
    with dashboard.db.session() as session:
        listed = {(row.phone, row.campaign_id) for row in session.scalars(select(DoNotCall))}
        anna = session.scalar(select(Contact).where(Contact.phone == "+73832123456"))
    assert {("+79031112233", None), ("+73832123456", None)} <= listed
    assert anna.state == "dnc"  # her pending contact is blocked at once
    # a contact list's token is no do-not-call upload
    assert dashboard.client.get(f"{base}/{contacts_token}").status_code == 404
