"""vision: see ARCHITECTURE in README.md."""
