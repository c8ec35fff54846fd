"""Evaluation: toolkit-exact metrics and sequence-level evaluation of the engine."""
