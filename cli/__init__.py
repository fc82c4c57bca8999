"""The ``iamledger`` command: a thin mirror of the library, shaped like the aws CLI."""
