"""The email channel: SMTP (aiosmtplib) with RFC 8058 one-click unsubscribe headers."""
