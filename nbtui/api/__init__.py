"""The Nano Banana API: models, errors and the async client. Knows nothing of UI or storage."""
