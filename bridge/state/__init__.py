"""State: what the bridge knows of the plant (the store, silence) and its history."""
