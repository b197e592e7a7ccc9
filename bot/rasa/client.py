"""HTTP client of the Rasa server: NLU parse, conversation state, messages. Rasa is only ever spoken to here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bot.rasa.errors import RasaError


class RasaUnavailable(RasaError):
    """The Rasa server did not answer (down, restarting, or still loading its model)."""


class RasaClient:
    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url = url
        self._http = httpx.AsyncClient(base_url=url, params={"token": token}, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RasaUnavailable(f"Rasa is not answering at {self.url} ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            raise RasaError(f"Rasa answered {response.status_code} to {method} {path}: {response.text[:300]}")
        return response.json() if response.content else None

    async def status(self) -> dict[str, Any]:
        """The loaded model (`model_file`) — also the health check."""
        return await self._request("GET", "/status")

    async def load_model(self, model: Path) -> None:
        """Replace the served model with another trained one. Rasa makes its tracker store anew: an in-memory one
        forgets the conversations in progress (an SQL one keeps them)."""
        await self._request("PUT", "/model", json={"model_file": str(model)}, timeout=300)

    async def parse(self, text: str) -> dict[str, Any]:
        """Intent and entities of one text, without touching any conversation."""
        return await self._request("POST", "/model/parse", json={"text": text})

    async def set_slot(self, conversation: str, name: str, value: Any) -> None:
        """Set a slot; in a new conversation only once Rasa has opened its first session. (Rasa opens it while
        handling the request, after stamping the request's events, and an SQL tracker store reads back only
        events stamped after the latest session start: a slot sent with the first request would be lost.)"""
        path = f"/conversations/{conversation}/tracker/events"
        await self._request("POST", path, json=[{"event": "action", "name": "action_listen"}])
        await self._request("POST", path, json=[{"event": "slot", "name": name, "value": value}])

    async def new_session(self, conversation: str, name: str, value: Any) -> None:
        """Start a new Rasa session in a conversation, carrying one slot over: Rasa's tracker store keeps only
        the latest session, so the history it re-reads on every message stops growing."""
        events = [
            {"event": "action", "name": "action_session_start"},
            {"event": "session_started"},
            {"event": "slot", "name": name, "value": value},
            {"event": "action", "name": "action_listen"},
        ]
        await self._request("POST", f"/conversations/{conversation}/tracker/events", json=events)

    async def message(self, conversation: str, text: str) -> list[dict[str, Any]]:
        """Send one user message; return the bot's messages (texts and custom payloads) in order."""
        return await self._request(
            "POST", "/webhooks/rest/webhook", json={"sender": conversation, "message": text}
        )

    async def tracker(self, conversation: str) -> dict[str, Any]:
        """A conversation's tracker with all its events (what a privacy export hands over)."""
        return await self._request(
            "GET", f"/conversations/{conversation}/tracker", params={"include_events": "ALL"}
        )

    async def erase(self, conversation: str) -> None:
        """Replace a conversation's events with none (the in-memory tracker store overwrites the conversation; an
        SQL store only appends, so `bot.privacy.tracker` deletes its rows itself)."""
        await self._request("PUT", f"/conversations/{conversation}/tracker/events", json=[])
