"""What the roles act in: the city's districts, the hidden stashes, the justice system, the sanction tables."""
