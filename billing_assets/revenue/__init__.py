"""The revenue side, by stage: metering (usage per deployment and month), invoicing (the quote engine,
tax, credits and the tenant documents) and payments (Stripe, the journal, reversals)."""
