"""Reports: what the municipality delivers to others about its work (CBS's DDAS Vroegsignalering)."""
