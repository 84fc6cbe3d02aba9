"""Data for `fi-gate demo`: an example execution (from the API documentation) and a policy."""
