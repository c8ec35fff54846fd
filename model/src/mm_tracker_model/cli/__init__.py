"""Console scripts; each module is a thin argparse shell over the library API."""
