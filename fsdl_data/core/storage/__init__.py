"""storage: see ARCHITECTURE in README.md."""
