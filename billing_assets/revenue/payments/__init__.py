"""Payments: issued documents pushed to Stripe, collection read back, reversals, the double-entry journal."""
