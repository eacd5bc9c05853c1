"""Business rules. Views call these; these never touch the request."""
