"""Real servers standing in for providers in tests: an SMTP server and a Twilio-like HTTP API."""
