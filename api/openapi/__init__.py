"""The OpenAPI contract: every answer documented, roles per operation, docs pages served offline."""
