"""labels: see ARCHITECTURE in README.md."""
