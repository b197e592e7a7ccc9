"""What every package of the platform shares: the clock, the common errors, the opening-hours calendar, the one
percentile function, secrets encrypted at rest, phone numbers to E.164. It imports no other `bot` package
(tests/test_layers.py checks it)."""
