"""Data: sequence generators and readers."""
