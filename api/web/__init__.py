"""Server-rendered pages: the contact pages (no login) and the staff console (cookie session)."""
