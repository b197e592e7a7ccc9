"""The web dashboard served by the platform at /dashboard: campaigns with live progress, call log and call
detail, scripts; Russian and English; login by API key or by user/password into a signed session cookie."""
