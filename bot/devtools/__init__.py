"""Developer tools that run from a source checkout, apart from the product code they measure: the benchmarks of
`voicebot bench …` (`bench_*.py`), `voicebot demo` and `voicebot chaos`. The CLI imports them only where those
commands run; no product module imports them (tests/test_layers.py: they sit at the top). Where one needs a test
fixture (the 12-word ASR model) it is given the path."""
