"""world: see ARCHITECTURE in README.md."""
