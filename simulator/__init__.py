"""yibao: simulator."""
