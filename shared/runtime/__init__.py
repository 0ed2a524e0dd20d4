"""What runs a service: typed settings, logging, metrics, tracing, background loops, the shared composition."""
