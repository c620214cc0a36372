"""Understanding what the user typed: symptoms, addresses, redaction."""
