"""`optin-ledger bench NAME`: speed as ratios against a baseline measured in the same run."""
