"""The data contract: the kinds and their columns, the code lists, the header vocabulary, the reference files."""


def load_yaml(text: str):
    """A reference file's YAML, through libyaml when PyYAML was built with it (the same safe subset, ~6x faster:
    the header vocabulary is read by every process that loads a file)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
