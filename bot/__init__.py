"""The voice-robot application: dialogs on Rasa, campaigns, hand-off, CRM, API and the `voicebot` CLI."""

import os

# onnxruntime (Silero VAD, Piper) phones home ~8 s after first use unless told not to.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
