"""billing_assets: a Dagster code location that closes a SaaS platform's books every month."""
