"""Inbound email feedback: parsing reports, matching them to our sends, receiving them (SMTP, webhooks)."""
