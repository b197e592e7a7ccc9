"""Hand-off of calls to human agents: queues, the transfer's context for the agent, and the hand-off records."""
