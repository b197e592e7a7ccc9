"""Dashboard login: nothing without a session; API key or user/password; a signed HttpOnly cookie that the JSON
API accepts in place of the key, with the principal's current scope and a CSRF header for writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bot.access.passwords import hash_password, verify_password
from bot.access.session import COOKIE, CSRF_HEADER, SessionCodec
from bot.api.auth import Scope
from bot.campaigns.service import CampaignSpec, create
from bot.cli import app as cli
from bot.storage.models import ApiKey
from tests.dashboard.conftest import PASSWORD

PAGES = [
    "/dashboard/",
    "/dashboard/campaigns/1",
    "/dashboard/calls",
    "/dashboard/calls/abc",
    "/dashboard/scripts",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_redirects_to_the_login_without_a_session(dashboard, page):
    response = dashboard.client.get(page + "?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?next=" + page.replace("/", "%2F") + "%3Fx%3D1"


def test_the_api_refuses_a_request_without_key_or_session(dashboard):
    response = dashboard.client.get("/api/v1/campaigns")
    assert response.status_code == 401 and "log in to the dashboard" in response.json()["detail"]


def test_logging_in_with_an_api_key_sets_a_signed_http_only_cookie_and_goes_back(dashboard):
    response = dashboard.client.post(
        "/dashboard/login",
        data={"api_key": dashboard.keys[Scope.READ], "next": "/dashboard/scripts"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/scripts"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = dashboard.client.get("/dashboard/")
    assert page.status_code == 200 and "read key" in page.text


@pytest.mark.parametrize(
    "form", [{"api_key": "vb_wrong"}, {"username": "olga", "password": "wrong"}, {"username": "ivan"}, {}]
)
def test_a_failed_login_says_so_and_sets_no_cookie(dashboard, form):
    response = dashboard.client.post("/dashboard/login", data=form, follow_redirects=False)
    assert response.status_code == 401 and 'id="login-error"' in response.text
    assert "set-cookie" not in response.headers


def test_logging_in_with_a_configured_user_and_password(dashboard):
    response = dashboard.client.post(
        "/dashboard/login", data={"username": "olga", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    assert dashboard.client.get("/api/v1/campaigns").status_code == 200
    # olga has the default read scope
    start = dashboard.client.post("/api/v1/campaigns/1/start", headers={CSRF_HEADER: "1"})
    assert start.status_code == 403 and "olga lacks the write scope" in start.json()["detail"]


def test_the_login_never_redirects_to_another_site(dashboard):
    for target in ("https://evil.example/", "//evil.example/dashboard/", "/api/v1/keys"):
        response = dashboard.client.post(
            "/dashboard/login",
            data={"api_key": dashboard.keys[Scope.READ], "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/dashboard/"


def _campaign(dashboard) -> int:
    with dashboard.db.session() as session:
        return create(session, CampaignSpec(name="c", script="reminder"), {"reminder"}, datetime.now(UTC)).id


def test_a_session_changes_state_only_with_write_scope_and_the_csrf_header(dashboard):
    campaign = _campaign(dashboard)
    dashboard.login(Scope.READ)
    assert (
        dashboard.client.post(f"/api/v1/campaigns/{campaign}/start", headers={CSRF_HEADER: "1"}).status_code
        == 403
    )
    dashboard.login(Scope.WRITE)
    without_header = dashboard.client.post(f"/api/v1/campaigns/{campaign}/start")
    assert without_header.status_code == 403 and CSRF_HEADER in without_header.json()["detail"]
    started = dashboard.client.post(f"/api/v1/campaigns/{campaign}/start", headers={CSRF_HEADER: "1"})
    assert started.status_code == 200 and started.json()["state"] == "running"


def test_a_revoked_key_ends_its_session_at_once(dashboard):
    dashboard.login(Scope.WRITE)
    assert dashboard.client.get("/dashboard/").status_code == 200
    with dashboard.db.session() as session:
        for row in session.query(ApiKey).all():
            row.revoked = True
    assert dashboard.client.get("/dashboard/", follow_redirects=False).status_code == 303
    assert dashboard.client.get("/api/v1/campaigns").status_code == 401


def test_a_tampered_or_expired_cookie_is_no_session(dashboard):
    dashboard.login(Scope.ADMIN)
    genuine = dashboard.client.cookies[COOKIE]
    body, _, signature = genuine.partition(".")
    forged = SessionCodec(b"another secret", 1).encode("key", "1")
    expired = SessionCodec(dashboard.client.app.state.sessions._secret, -1).encode("key", "1")
    dashboard.client.cookies.clear()
    for cookie in (f"{body}x.{signature}", forged, expired, "garbage", "é.é"):
        header = {"cookie": f"{COOKIE}={cookie}".encode()}
        assert dashboard.client.get("/dashboard/", headers=header, follow_redirects=False).status_code == 303
        assert dashboard.client.get("/api/v1/campaigns", headers=header).status_code == 401


def test_logout_clears_the_session(dashboard):
    dashboard.login()
    response = dashboard.client.post("/dashboard/logout", follow_redirects=False)
    assert response.headers["location"] == "/dashboard/login"
    assert dashboard.client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_password_hashes_verify_only_their_password():
    stored = hash_password("s3cret")
    assert verify_password("s3cret", stored) and not verify_password("s3cret!", stored)
    assert hash_password("s3cret") != stored  # salted
    assert not verify_password("s3cret", "scrypt$bad") and not verify_password("x", "md5$1$2$3$aa$bb")
    with pytest.raises(ValueError):
        hash_password("")


def test_the_cli_prints_a_hash_the_dashboard_accepts():
    result = CliRunner().invoke(cli, ["dashboard", "hash-password"], input="pässword\npässword\n")
    assert result.exit_code == 0, result.output
    assert verify_password("pässword", result.output.strip().splitlines()[-1])
