"""The monitor: a municipality's figures for a period, as JSON or CSV."""
