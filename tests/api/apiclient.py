"""The API test client with one key per scope."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from bot.api.auth import Scope


@dataclass
class Api:
    client: TestClient
    keys: dict[Scope, str]

    def headers(self, scope: Scope = Scope.WRITE) -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}
