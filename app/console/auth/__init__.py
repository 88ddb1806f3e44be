"""Sign-in, sign-out and the staff session."""
