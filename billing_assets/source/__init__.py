"""The platform's operational database, snapshotted into the warehouse's `staging` schema.

It feeds both sides of the books: cloud resources and deployments for cost matching, tenants,
plans, subscriptions and usage events for revenue."""
