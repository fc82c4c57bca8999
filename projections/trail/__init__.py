"""The audit trail as a projection: each CloudTrail record written once when its events are projected, indexed for
``LookupEvents`` and entity histories, and rendered in CloudTrail's shape."""
