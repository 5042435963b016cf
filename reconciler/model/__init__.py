"""Pure data shared by every layer: the project, live state and the plan. No I/O here."""
