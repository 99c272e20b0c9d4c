"""The Doorstep Python SDK and the reference field device (`doorstep-field`)."""

from clients.python.doorstep_client.sdk import ApiError, DoorstepClient

__all__ = ["ApiError", "DoorstepClient"]
