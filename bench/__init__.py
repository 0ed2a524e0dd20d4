"""`make bench`: weerbaar's throughput and latency measured side by side with Kafka's and aiokafka's ceilings."""

import os

# It runs against the stack `make up` started, in development mode like it (deploy/run/common.sh): the checkout's
# generated keys, dev tokens for the bench's clients.
os.environ.setdefault("WEERBAAR_DEV_MODE", "true")
