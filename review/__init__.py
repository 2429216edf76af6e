"""yibao: review."""
