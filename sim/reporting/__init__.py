"""Reports, tables and figures of the experiments' results, and documentation generated from the registry."""
