"""Reports: the monitor figures, the DDAS delivery to CBS and the case export."""
