"""What this tool has recorded: durable storage, the ledger and its lock."""
