"""Click commands, one module per group of commands; each only translates options and results."""
