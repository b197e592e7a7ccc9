"""Dialog scripts: the YAML format script authors write, its validation, rendering and the turn engine."""
