"""The Textual layer: the app (`app`), its main screen and dialogs (`screens`), the widgets
(`widgets`), the commands behind the keys (`commands`), and plain helpers shared by them
(`formatting`, `links`, `tasklist_model`). Nothing below this package imports it."""
