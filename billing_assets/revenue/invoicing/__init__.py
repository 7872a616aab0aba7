"""Invoicing: the pure quote engine (rating, tax, credits), tenant documents and their store, the preview."""
