"""The scenarios of the rule catalogue, one module per theme; each registers with `@rule`."""
