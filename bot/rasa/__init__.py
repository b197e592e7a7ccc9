"""Rasa 3.6 as the dialog engine's NLU and tracker: compile a project, train, run and talk to the server."""
