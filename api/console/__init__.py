"""The back-office console: server-rendered Dutch screens at /console on the API's own rules.

Every screen calls the same route functions and services the JSON API does, with the
Principal of a server-side session instead of a bearer token: the same role checks,
tenancy and audit trail, no second source of truth.
"""
