"""tables: see ARCHITECTURE in README.md."""
