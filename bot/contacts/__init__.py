"""Contacts of outbound campaigns: phone normalisation, CSV import and the do-not-call list."""
