"""Who is calling (principals) and what they may do (guards)."""
