"""The error of the Rasa runtime, raised by training, the server, the client and a conversation alike."""

from __future__ import annotations


class RasaError(Exception):
    """Rasa is missing, failed to train, or is not answering; the message says what to do."""
