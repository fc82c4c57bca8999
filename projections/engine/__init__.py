"""The engine of the read side: the projector (applying the log to the views, exactly once, in batches), temporal rows
and the read position, batches and bulk loads, scratch rebuilds and verification, the handler registry, the time index,
the serving projector and the views on a hot standby."""
