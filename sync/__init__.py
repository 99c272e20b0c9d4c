"""The sync engine shared by server and clients: pure, imports pydantic only (no web, no database, no clock)."""
