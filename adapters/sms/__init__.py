"""The SMS channel: a Twilio-compatible Messages API client and its webhook signatures."""
