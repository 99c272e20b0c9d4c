"""The platform the areas stand on: the database and its bulk writes, tenancy, errors, the HTTP
middleware, logs, metrics and tracing, downloads, health and key files. Nothing here knows a
signal, a case or a visit; the areas (signals, cases, field, ...) import from here, never back."""
