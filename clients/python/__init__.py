"""Reference clients of the Doorstep API."""
