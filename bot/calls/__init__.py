"""Phone calls as pipecat pipelines: transport in → Silero VAD → Vosk → dialog bridge (Rasa) → TTS → transport out,
with turn-taking, barge-in, DTMF, recording and per-turn latency; and simulated calls over an in-process line."""
