"""CRM webhooks: events written to an outbox in the state change's transaction, signed and delivered at least once."""
