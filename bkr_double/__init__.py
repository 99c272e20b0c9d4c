"""A stand-in for BKR's registration interface (which is not public), for tests and the demo."""
