"""The read side: SQL views built from the event log, the time index, and the audit query module."""
