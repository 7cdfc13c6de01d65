"""The TUI's screens and dialogs: token entry, add tasks, confirm, help, pick a URL."""
