"""Plans: desired state vs live state, as data."""
