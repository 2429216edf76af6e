"""yibao: settlement."""
