# The two commands a newcomer needs: `make run` and `make test`. Both set up what they need first.
.PHONY: setup run demo test test-quick chaos lint format

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/voicebot serve

# the product in a few minutes: a local PBX, simulated customers and an agent, two campaigns, the dashboard
demo: setup
	.venv/bin/voicebot demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest

test-quick:
	.venv/bin/pytest -m "not slow"

# the fault scenarios and one table of what each fault did (docs/reliability.md); hosts apart needs root
chaos: setup
	.venv/bin/voicebot chaos

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
