"""Outgoing webhooks: secrets, Standard Webhooks signing, the delivery worker."""
