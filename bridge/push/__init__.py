"""Push: the plant's state to Socket.IO clients, first in full, then as coalesced deltas."""
