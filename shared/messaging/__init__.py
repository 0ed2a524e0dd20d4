"""Kafka: broker and publisher, batched consuming with retries and dead letters, progress, the acute lane."""
