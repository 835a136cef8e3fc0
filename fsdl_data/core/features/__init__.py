"""features: see ARCHITECTURE in README.md."""
