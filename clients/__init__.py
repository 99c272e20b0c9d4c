"""Reference clients of the Doorstep API (see clients/README.md)."""
