"""yibao: yibao."""
