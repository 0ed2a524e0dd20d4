"""Run a raw relay in a process of its own, so its memory is a fair baseline for a service's RSS.

``python -m bench.relay_proc TOPIC COUNT [per-record|batched]``
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from bench.ceilings import raw_relay
from bench.config import BenchSettings

if __name__ == "__main__":
    topic, count = sys.argv[1], int(sys.argv[2])
    batched = sys.argv[3:] == ["batched"]
    rate = asyncio.run(raw_relay(BenchSettings(), topic, count, batched=batched))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rate": rate, "rss_mb": rss_mb}))
