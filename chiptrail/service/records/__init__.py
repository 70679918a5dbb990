"""Trade records use cases: ingest (atomic, party-scoped), list, and read back for the rules."""
