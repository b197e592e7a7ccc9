"""Speech for calls: Vosk streaming recognition, Piper/espeak-ng synthesis, model management, answering-machine
detection. Depends on pipecat, never on `bot/` (the dialog side plugs these services into a call's pipeline)."""
