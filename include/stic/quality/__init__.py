"""Great Expectations: the suites under expectations/ run on each load and after each build."""
