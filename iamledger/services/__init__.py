"""The IAM and STS operations of :class:`iamledger.IdentityStore`, one module per concern, mixed into the store."""
