"""What the user tracks: the SQLite store and the refresh monitor. No Textual here."""
