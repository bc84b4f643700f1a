"""The data contract: the kinds and their columns, the code lists, the header vocabulary, the reference files."""
