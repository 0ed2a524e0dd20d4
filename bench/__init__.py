"""`make bench`: weerbaar's throughput and latency measured side by side with Kafka's and aiokafka's ceilings."""
