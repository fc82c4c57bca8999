"""What protects the event log: the hash chain over it and its checkpoints (the time index's rows), the check of that
chain, and recording events in the log directly for the only writer."""
