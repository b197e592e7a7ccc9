"""RTP media: G.711 codecs, RFC 2833 telephone events, the shared pacing clock and per-call sessions."""
