"""BKR registration: the trajectory rule, the outbox and its delivery worker."""
