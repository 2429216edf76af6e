"""The review app's state-changing rules, called by the routers and the CLI alike."""
