"""From a submitted file's bytes to normalised rows: readers per format, the normaliser, the spill to disk."""
