"""The views: one module per entity, each with the handlers that write its tables and the query functions that read
them."""
