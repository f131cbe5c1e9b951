"""Flag files: discovery, YAML with positions, schema, findings, rules, validate, report."""
