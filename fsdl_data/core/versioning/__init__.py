"""versioning: see ARCHITECTURE in README.md."""
