"""The staff console: login, dashboard, contacts, consent requests, programs, users, audit."""
