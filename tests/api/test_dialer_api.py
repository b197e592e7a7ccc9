"""`/api/v1/dialer` in a process without a dialer (API only); with one, tests/telephony/test_tel_registrar_restart.py."""

from __future__ import annotations

from bot.api.auth import Scope


def test_an_api_only_process_says_no_dialer_runs_here(api):
    response = api.client.get("/api/v1/dialer", headers=api.headers(Scope.READ))

    assert response.status_code == 200
    assert response.json() == {"running": False, "paused": None, "calls_in_progress": 0}


def test_the_dialer_status_needs_a_key(api):
    assert api.client.get("/api/v1/dialer").status_code == 401
