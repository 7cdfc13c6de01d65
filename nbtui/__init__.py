"""nbtui: watch AceData Cloud Nano Banana image tasks from a terminal."""

__version__ = "0.1.0"
