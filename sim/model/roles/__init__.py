"""One module per role: buyers, couriers, shops (operators), labs and the police."""
