"""The SQL side of the store: schema, backend, entities and queries."""
