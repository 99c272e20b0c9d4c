"""Reports: the monitor figures and the case export (the DDAS delivery lives beside them)."""
