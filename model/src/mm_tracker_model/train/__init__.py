"""Training: configuration, the data behind it, the loop (single process or torchrun DDP)."""
