"""yibao: detection."""
