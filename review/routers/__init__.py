"""One router per resource: auth, queue, claims, decisions, hospitals, indicators, audit, labels."""
