"""The permission index and the analysis over the temporal views: which policies can allow which services, the
effective policies of a principal, and why a policy applied at a moment."""
