"""Developer tools that run from a source checkout (they use `tests/`): not part of a deployment."""
