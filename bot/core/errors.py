"""The errors every service raises alike, which the API, the dashboard and the CLI turn into 404, 409 and 422."""

from __future__ import annotations


class NotFound(LookupError):
    """No such campaign, call or entry."""


class Conflict(RuntimeError):
    """The operation is not allowed in the current state of what it acts on."""


class InvalidInput(ValueError):
    """The request names something that does not exist (a script) or is otherwise unusable; `field` names it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
