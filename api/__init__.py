"""Doorstep, the service. `__version__` is the API's version: the package's, the OpenAPI
document's `info.version` and every response's `API-Version` header (semver: a minor version
adds, a major version breaks)."""

__version__ = "0.2.0"
