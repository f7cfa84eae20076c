"""Machinery under the model: role state as arrays behind Mesa agents, and random draws."""
