"""What a call leaves behind, below the campaigns that place calls and the pipeline that carries them: the call's
one typed result (`result.py`), what its script's actions ask of the platform (`script_actions.py`), and the
`calls` row with its CRM events (`store.py`)."""
