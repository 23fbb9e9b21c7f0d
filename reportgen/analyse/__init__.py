"""Facts from a loaded model: statistics, layer facts, alerts (pure functions on plain data)."""
