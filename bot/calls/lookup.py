"""Caller lookup: while an inbound call rings, ask the CRM who is calling and use its answer as script variables.

GET `lookup_url?caller=…&called=…`, or POST the same as a JSON object; an optional token header. The CRM answers
200 with a JSON object (e.g. `{"name": "Анна", "customer_id": "C-17"}`); text, number and yes/no values become
variables, anything else is ignored. Unknown caller (404), an error, a timeout or a malformed answer: no variables,
logged, and the call goes on.
"""

from __future__ import annotations

import httpx
from loguru import logger

from bot.config import CallsSettings


class CallerLookup:
    """Asks the CRM configured in `calls.lookup_*`; one HTTP client (connection pool) for every call."""

    def __init__(self, settings: CallsSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        headers = {settings.lookup_token_header: settings.lookup_token} if settings.lookup_token else {}
        self.client = httpx.AsyncClient(
            timeout=settings.lookup_timeout, headers=headers, transport=transport, follow_redirects=True
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def variables(self, caller: str, called: str) -> dict[str, str]:
        """The CRM's variables for this caller; empty when it does not know them or cannot be asked in time."""
        query = {"caller": caller, "called": called}
        url = self.settings.lookup_url
        try:
            if self.settings.lookup_method == "POST":
                response = await self.client.post(url, json=query)
            else:
                response = await self.client.get(url, params=query)
        except httpx.HTTPError as exc:
            logger.warning(f"caller lookup for {caller}: {type(exc).__name__} {exc}".rstrip())
            return {}
        if response.status_code == 404:
            logger.info(f"caller lookup: {caller} unknown to the CRM")
            return {}
        if response.status_code != 200:
            logger.warning(f"caller lookup for {caller}: HTTP {response.status_code}")
            return {}
        try:
            answer = response.json()
        except ValueError:
            logger.warning(f"caller lookup for {caller}: the answer is not JSON")
            return {}
        if not isinstance(answer, dict):
            logger.warning(f"caller lookup for {caller}: expected a JSON object, got {type(answer).__name__}")
            return {}
        found = {str(k): _text(v) for k, v in answer.items() if isinstance(v, str | int | float | bool)}
        logger.info(f"caller lookup: {caller} → {sorted(found)}")
        return found


def _text(value: str | int | float | bool) -> str:
    """Variables arrive as text (like config and CSV values); the script's declared type parses them."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
