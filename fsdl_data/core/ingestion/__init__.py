"""Ingestion from object stores: what is new in a listing, and which days to request."""
