"""The auxiliary (X) camera modalities the tracker supports, in one place."""

MODALITIES = ("thermal", "depth", "event")
