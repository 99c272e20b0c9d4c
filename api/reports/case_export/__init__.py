"""The case export for the municipality's debt-help case system, as CSV or XLSX."""
