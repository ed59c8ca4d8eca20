"""Local protocol stand-ins (127.0.0.1 only) that the real client stacks talk to in tests."""
