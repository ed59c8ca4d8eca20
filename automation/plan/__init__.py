"""The LA's plans as plain data: the contact plan for an inspection."""
