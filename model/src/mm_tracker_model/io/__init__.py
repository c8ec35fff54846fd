"""Checkpoints in the project's own format and conversion of pretrained OSTrack / DropTrack / MAE weights."""
