"""Maintenance scripts run by hand (see each docstring); not installed."""
