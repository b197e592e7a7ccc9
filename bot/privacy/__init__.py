"""Privacy: identifiers a caller speaks or keys (cards, passports, SNILS, INN, phones, e-mails, sensitive slots)
masked in everything the platform stores or sends (`docs/privacy.md`)."""
