"""Security: accounts, sessions, tokens, rate limits, the audit log, the HTTP gate."""
