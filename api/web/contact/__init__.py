"""Contact pages (no login): opt in or out of a program, and "my preferences" after a code."""
