"""The page and its sidecar: view strings, templates, JSON, atomic writes."""
