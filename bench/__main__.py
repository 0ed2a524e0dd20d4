"""`python -m bench` (make bench): measure, print a table, write JSON to .artifacts/bench/."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench import ceilings, storeprofile
from bench.acute import run_acute
from bench.caseview import run_caseview
from bench.config import ROOT, BenchSettings
from bench.cpu import cpu_use
from bench.http_load import closed_loop, fixed_rate
from bench.pipeline import STAGES, PipelineResult, routine_records, run_pipeline
from bench.rss import service_rss_mb
from bench.storeceiling import run_store_ceiling
from weerbaar import demo

console = Console()


def store_commands(pipeline: PipelineResult, by_service: dict[str, int]) -> dict[str, Any]:
    """Store commands per case, amortised: all a service sent during the run ÷ the cases through its stage (when a
    stage did not finish, work already begun on its remaining cases counts too); per case: the services' sum."""
    stage_of = {stage.split()[0]: stage for stage in STAGES}
    per_service = {}
    for service, commands in sorted(by_service.items()):
        done = pipeline.done(stage_of.get(service, service))
        per_service[service] = {"commands": commands, "cases": done, "per_case": commands / done if done else 0.0}
    per_case = sum(spent["per_case"] for spent in per_service.values())
    return {"commands": sum(by_service.values()), "per_case": per_case, "by_service": per_service}


async def measure(settings: BenchSettings) -> dict[str, Any]:
    size = len(routine_records(1, "size")[0].value)
    results: dict[str, Any] = {"record_bytes": size, "records": settings.bench_records}
    results["topics_created_first"] = await ceilings.burgemeester_topics(settings.kafka_bootstrap, demo.MUNICIPALITIES)
    with Progress(console=console) as progress:
        step = progress.add_task("ceilings", total=6)
        results.update(await ceilings.run_ceilings(settings, lambda: progress.advance(step)))
        results["store_ceiling"] = await run_store_ceiling(settings)
        progress.advance(step)

        results["caseview"] = await run_caseview(settings)

        store_before = await storeprofile.snapshot()
        with cpu_use(settings.state_dir) as pipeline_cpu:
            pipeline = await run_pipeline(settings, progress)
        store_after = await storeprofile.snapshot()
        results["store_top"] = storeprofile.top(store_before, store_after)
        results["store_commands"] = store_commands(
            pipeline, storeprofile.commands_by_service(store_before, store_after)
        )
        results["pipeline"] = {
            "inject_s": pipeline.inject_s,
            "done_s": pipeline.done_s,
            "rates": {stage: pipeline.rate(stage) for stage in (*pipeline.done_s, *pipeline.partial)},
            "unfinished": {stage: done for stage, (done, _) in pipeline.partial.items()},
            "end_to_end_rate": pipeline.end_to_end_rate,
            "cpu": pipeline_cpu.as_dict(settings.bench_records),
        }
        results["rss_mb"] = service_rss_mb(settings.state_dir)

        with cpu_use(settings.state_dir) as http_cpu:
            loop = await closed_loop(settings)
        results["http_closed_loop"] = {
            "cpu": http_cpu.as_dict(settings.bench_http_requests),
            "rate": loop.rate,
            "p50_ms": loop.p50,
            "p99_ms": loop.pct(0.99),
            "errors": loop.errors,
            "concurrency": settings.bench_http_concurrency,
        }
        acute = await run_acute(settings, progress)
        results["acute"] = {
            "backlog": acute.backlog,
            "p50_ms": acute.pct(0.5),
            "p99_ms": acute.pct(0.99),
            "timeouts": acute.timeouts,
            "escalated": acute.escalated,
            "probes": settings.bench_acute_probes,
            "latencies_ms": acute.latencies_ms,
            "hops": acute.hop_summary(),
            "per_probe": acute.probes,
            "rss_max_mb": acute.rss_max_mb,
        }
        # Last: the open-loop flood leaves requests queued in intake that would otherwise slow the acute probes.
        steady = await fixed_rate(settings)
        results["http_fixed_rate"] = {
            "offered_rate": settings.bench_http_rate,
            "requests": steady.requests,
            "achieved_rate": steady.rate,
            "p50_ms": steady.p50,
            "p99_ms": steady.pct(0.99),
            "errors": steady.errors,
            "late": steady.late,
            "deadline_ms": settings.bench_http_deadline_s * 1000,
        }
    store = results["store_ceiling"]["concurrent"]["updates_per_s"]
    results["ratios"] = {
        "end_to_end_per_store_update": results["pipeline"]["end_to_end_rate"] / store,
        "http_per_store_update": results["http_closed_loop"]["rate"] / store,
    }
    return results


def table(results: dict[str, Any]) -> Table:
    relay = results["raw_relay"]
    ceiling = results["store_ceiling"]["concurrent"]["updates_per_s"]
    out = Table(
        "measure",
        "value",
        "÷ raw relay",
        "÷ store ceiling",
        "target",
        title=f"weerbaar bench ({results['records']} records of {results['record_bytes']} B)",
    )
    perf, relayed = f"{results['perf_records']:,} records", f"{results['relay_records']:,} records"
    out.add_row(
        f"Kafka ProducerPerformance ({perf})", f"{results['kafka_producer_perf']:,.0f} rec/s", "", "", "ceiling"
    )
    out.add_row(
        f"Kafka ConsumerPerformance ({perf})", f"{results['kafka_consumer_perf']:,.0f} rec/s", "", "", "ceiling"
    )
    out.add_row(
        f"raw aiokafka producer ({relayed})", f"{results['raw_aiokafka_producer']:,.0f} rec/s", "", "", "ceiling"
    )
    out.add_row(f"raw aiokafka relay, per record ({relayed})", f"{relay:,.0f} rec/s", "1.00", "", "baseline")
    batched = results["raw_relay_batched"]
    label = f"raw aiokafka relay, batched (≤ {results['relay_batch']}, one commit per batch)"
    out.add_row(label, f"{batched:,.0f} rec/s", f"{batched / relay:.2f}", "", "ceiling")
    for name in ("sequential", "concurrent"):
        mode = results["store_ceiling"][name]
        figures = f"{mode['updates_per_s']:,.0f} updates/s, p50 {mode['p50_ms']:.0f} ms, p99 {mode['p99_ms']:.0f} ms"
        target = "ceiling" if name == "concurrent" else ""
        clients = f"{mode['clients']} client{'s' if mode['clients'] > 1 else ''}"
        out.add_row(f"store update_one by _id, {clients}", figures, "", "", target)
    for stage, rate in results["pipeline"]["rates"].items():
        out.add_row(
            f"weerbaar {stage}", f"{rate:,.1f} cases/s", f"{rate / relay:.2f}", f"{rate / ceiling:.3f}", "≥ 0.50"
        )
    e2e = results["pipeline"]["end_to_end_rate"]
    out.add_row("weerbaar end to end", f"{e2e:,.1f} cases/s", f"{e2e / relay:.2f}", f"{e2e / ceiling:.3f}", "≥ 0.25")
    _cpu_rows(out, "end to end, CPU per case", results["pipeline"]["cpu"], 0.10 * ceiling)
    commands = results["store_commands"]
    out.add_row("store commands per case (amortised)", f"{commands['per_case']:.1f}", "", "", "")
    for service, spent in commands["by_service"].items():
        out.add_row(
            f"  {service}", f"{spent['per_case']:.1f} ({spent['commands']:,} for {spent['cases']:,})", "", "", ""
        )
    view = results.get("caseview")
    if view:
        held, narrowed = (max(view["rates"][name]) for name in ("held", "narrowed"))
        out.add_row("case update, narrowed (read + checked write)", f"{narrowed:,.0f} events/s", "", "", "baseline")
        ratio = f"{view['ratio']:.2f} of narrowed"
        out.add_row("case update, held (one lock, two commands)", f"{held:,.0f} events/s", "", "", ratio)
    loop = results["http_closed_loop"]
    out.add_row(
        f"HTTP intake ({loop['concurrency']} clients)",
        f"{loop['rate']:,.1f} req/s",
        "",
        f"{loop['rate'] / ceiling:.3f}",
        f"p50 {loop['p50_ms']:.0f} ms, p99 {loop['p99_ms']:.0f} ms",
    )
    _cpu_rows(out, "HTTP intake, CPU per request", loop["cpu"], 0.30 * ceiling)
    fixed = results["http_fixed_rate"]
    p99 = f"p99 {fixed['p99_ms']:.0f} ms"
    if fixed.get("late"):
        p99 = f"p50 {fixed['p50_ms']:.0f} ms, p99 ≥ {fixed['deadline_ms']:.0f} ms ({fixed['late']} late)"
    out.add_row(f"HTTP intake at {fixed['offered_rate']:.0f} req/s", p99, "", "", "p99 ≤ 100 ms")
    acute = results["acute"]
    out.add_row(
        f"acute → police (backlog {acute['backlog']:,}; {acute.get('escalated', 0):,} other acute cases meanwhile)",
        f"p50 {acute['p50_ms']:.0f} ms, p99 {acute['p99_ms']:.0f} ms, {acute['timeouts']} timeouts",
        "",
        "",
        "p99 ≤ 500 ms",
    )
    for hop, figures in acute.get("hops", {}).items():
        out.add_row(
            f"  acute hop: {hop}", f"p50 {figures['p50_ms']:.0f} ms, max {figures['max_ms']:.0f} ms", "", "", ""
        )
    base_rss = results["raw_relay_rss_mb"]
    for service, rss in results["rss_mb"].items():
        peak = acute["rss_max_mb"].get(service, rss)
        value = f"{rss:.0f} MB after end to end, max {peak:.0f} MB with backlog {acute['backlog']:,}"
        out.add_row(f"RSS {service}", value, f"{peak / base_rss:.2f}", "", "")
    out.add_row("RSS raw relay, per record (max)", f"{base_rss:.0f} MB", "1.00", "", "baseline")
    out.add_row("RSS raw relay, batched (max)", f"{results['raw_relay_batched_rss_mb']:.0f} MB", "", "", "")
    return out


def _cpu_rows(out: Table, title: str, cpu: dict[str, Any], target_rate: float) -> None:
    """CPU per unit by process, beside the budget per unit that a target rate leaves on this machine's cores."""
    budget = 1000 * cpu["cores"] / target_rate
    spent = sum(cpu["ms_per_unit"].values())
    out.add_row(
        title,
        f"{spent:.1f} ms (machine {cpu['busy']:.0%} busy)",
        "",
        "",
        f"budget {budget:.1f} ms at {target_rate:,.0f}/s",
    )
    for name, ms in sorted(cpu["ms_per_unit"].items(), key=lambda item: -item[1]):
        out.add_row(f"  {name}", f"{ms:.1f} ms", "", "", "")


def store_table(rows: list[dict[str, Any]]) -> Table:
    out = Table(
        "service",
        "collection",
        "command",
        "filter shape",
        "s",
        "commands",
        "ms each",
        title="store time during the end-to-end run, by query shape",
    )
    for row in rows:
        out.add_row(
            *(str(row[k]) for k in ("service", "collection", "command", "shape")),
            f"{row['seconds']:.1f}",
            str(row["commands"]),
            f"{row['ms_each']:.2f}",
        )
    return out


def main() -> None:
    settings = BenchSettings()
    started = time.perf_counter()
    results = asyncio.run(measure(settings))
    results["seconds"] = time.perf_counter() - started
    results["at"] = datetime.now(UTC).isoformat()
    console.print(table(results))
    console.print(store_table(results["store_top"]))
    settings.bench_out.mkdir(parents=True, exist_ok=True)
    path = settings.bench_out / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2))
    (settings.bench_out / "latest.json").write_text(json.dumps(results, indent=2))
    console.print(f"written {path.relative_to(ROOT)} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
