"""Mail: building messages from templates, transports, and the exactly-once journal."""
