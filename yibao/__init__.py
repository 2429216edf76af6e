"""yibao: command line and settings shared by every package."""
