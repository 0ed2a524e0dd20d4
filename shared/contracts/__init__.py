"""Event models, topic names and the CloudEvents envelope: the contracts in one place."""
