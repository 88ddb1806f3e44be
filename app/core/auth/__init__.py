"""Staff sign-in, tokens, sessions, API keys."""
