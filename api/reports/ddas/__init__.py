"""The DDAS Vroegsignalering delivery to CBS: the document (pure), reading its rows, and its route."""
