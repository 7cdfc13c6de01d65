"""The TUI's widgets: each renders the state it is given and posts messages."""
