"""The JSON Schemas, shipped inside the package (mapped from the repository's schemas/)."""
