"""Developer tooling, not used by the product: the sample generator, the benchmark, the stack without Docker, a stand-in agency API."""
