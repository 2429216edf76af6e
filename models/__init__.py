"""yibao: models."""
