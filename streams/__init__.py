"""yibao: streams."""
