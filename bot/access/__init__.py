"""Who may use the platform: dashboard users and their password hashes, and the login session that the REST API
and the dashboard both accept (a cookie standing for an API key or a user)."""
