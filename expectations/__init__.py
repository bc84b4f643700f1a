"""The Great Expectations suites, one module per validated table; stic.quality.gx imports them from this folder."""
