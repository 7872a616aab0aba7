"""The books: DigitalOcean bills pushed to finance as payables, tenant documents as receivables, once."""
