"""``weerbaar``: operator and developer commands."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn, track
from rich.table import Table

from shared.contracts.principals import DEV_MUNICIPALITIES, OPERATOR, principals
from shared.contracts.topics import dlq_topic
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import client_options, operator_options
from shared.runtime.settings import CommonSettings
from shared.store import mongo
from weerbaar import demo as demo_data
from weerbaar.audit import audit_app
from weerbaar.keys import keys_app

if TYPE_CHECKING:
    from services.reporting.settings import Settings as ReportingSettings

app = typer.Typer(help="weerbaar command line", no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and re-drive dead-lettered messages", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
console = Console()

ROOT = Path(__file__).resolve().parents[1]
SERVICE_PORTS = {"intake": 8081, "triage": 8082, "notify": 8083, "reporting": 8084}


@app.command()
def token(
    role: Annotated[str, typer.Option(help="reporter, otwb, police, om, jenv, bzk, burgemeester or admin")],
    org: Annotated[str | None, typer.Option(help="Organisation claim")] = None,
    municipality: Annotated[str | None, typer.Option(help="Municipality claim (GMnnnn), for burgemeester")] = None,
    sub: Annotated[str | None, typer.Option(help="Subject (default: a fresh one per token)")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 8 * 3600,
) -> None:
    """Print a bearer token the locally running stack accepts (dev mode signing key only)."""
    from datetime import timedelta

    from shared.web.auth import Role, dev_key_dir, mint_token

    settings = CommonSettings()
    if not settings.dev_mode:
        console.print("[red]`weerbaar token` mints dev tokens only; outside dev mode tokens come from the issuer[/red]")
        raise typer.Exit(2)
    if role not in {r.value for r in Role}:
        console.print(f"[red]unknown role {role!r}[/red]; one of: {', '.join(r.value for r in Role)}")
        raise typer.Exit(2)
    if ttl <= 0:
        raise typer.BadParameter("--ttl must be positive")
    print(
        mint_token(
            role=role,
            sub=sub,
            org=org,
            municipality=municipality,
            ttl=timedelta(seconds=ttl),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            directory=dev_key_dir(settings),
        )
    )


@app.command()
def topics(
    replication_factor: Annotated[int, typer.Option(help="Copies of each partition (3 on a production cluster)")] = 1,
    municipality: Annotated[
        list[str] | None,
        typer.Option(help="A gemeente (GMnnnn) whose burgemeester topics to create; default: the local stack's"),
    ] = None,
) -> None:
    """Create every contract topic that is missing (and each gemeente's notification and acknowledgement topics)."""
    settings = CommonSettings()
    created = asyncio.run(
        provision_topics(
            settings.kafka_bootstrap,
            replication_factor=replication_factor,
            security=operator_options(),
            municipalities=tuple(municipality or DEV_MUNICIPALITIES),
        )
    )
    console.print(f"topics ready ({len(created)} created)")


@app.command("kafka-credentials")
def kafka_credentials(
    principal: Annotated[
        str, typer.Option(help="A principal of shared/contracts/principals.py, e.g. gemeente-gm0344, liaison-police")
    ] = OPERATOR,
) -> None:
    """Print what an aiokafka client needs to log in to the locally running stack (JSON; keyword arguments)."""
    settings = CommonSettings()
    if principal not in principals():
        console.print(f"[red]unknown principal {principal!r}[/red]; one of: {', '.join(principals())}")
        raise typer.Exit(2)
    options = client_options(settings, principal=principal)
    options.pop("ssl_context", None)
    if settings.kafka_ca_file:
        options["ssl_cafile"] = settings.kafka_ca_file
    print(json.dumps({"bootstrap_servers": settings.kafka_bootstrap, **options}))


@app.command()
def contracts(check: Annotated[bool, typer.Option(help="Fail if the committed files differ")] = False) -> None:
    """Write (or check) the JSON Schema of every event and each service's AsyncAPI and OpenAPI documents."""
    from weerbaar.artefacts import expected_artefacts

    stale = []
    for path, text in expected_artefacts().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    verb = "stale" if check else "written"
    for path in stale:
        console.print(f"{verb}: {path.relative_to(ROOT)}")
    if check and stale:
        console.print("[red]contract artefacts are out of date: run `make docs`[/red]")
        raise typer.Exit(1)
    console.print(f"contract artefacts up to date ({len(expected_artefacts())} files)")


@app.command("wait-ready")
def wait_ready(
    timeout: Annotated[float, typer.Option(help="Seconds to wait")] = 120.0,
    host: str = "127.0.0.1",
) -> None:
    """Wait until every service answers 200 on /readyz."""
    deadline = time.monotonic() + timeout
    pending = dict(SERVICE_PORTS)
    reasons: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        for name, port in list(pending.items()):
            try:
                response = httpx.get(f"http://{host}:{port}/readyz", timeout=3)
                if response.status_code == 200:
                    del pending[name]
                else:
                    reasons[name] = response.text
            except httpx.HTTPError as exc:
                reasons[name] = type(exc).__name__
        if pending:
            time.sleep(0.5)
    if pending:
        for name in pending:
            console.print(f"[red]{name} not ready[/red]: {reasons.get(name, '')}")
        raise typer.Exit(1)
    console.print("all services ready")


@app.command()
def demo(
    count: Annotated[int, typer.Option("--count", "-n", help="How many incidents to report")] = 25,
    url: Annotated[str | None, typer.Option(help="Intake (default: 127.0.0.1 at WEERBAAR_INTAKE_PORT, 8081)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed for a repeatable data set")] = None,
) -> None:
    """Report synthetic, realistic incidents through the intake API."""
    url = url or f"http://127.0.0.1:{os.environ.get('WEERBAAR_INTAKE_PORT', SERVICE_PORTS['intake'])}"
    rng = random.Random(seed)
    case_ids: list[str] = []
    reporter = _dev_token("otwb", org="OTWB demo")
    headers = {"Authorization": f"Bearer {reporter}"}
    with httpx.Client(base_url=url, timeout=10, headers=headers) as client:
        for _ in track(range(count), description="reporting incidents", console=console):
            body = demo_data.incident(rng, acute=len(case_ids) == 0)
            response = client.post("/v1/incidents", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            response.raise_for_status()
            case_ids.append(response.json()["case_id"])
    console.print(f"{len(case_ids)} incidents reported")
    _show_journey(url, case_ids[0], reporter)


def _dev_token(role: str, *, org: str | None = None) -> str:
    from shared.web.auth import dev_key_dir, mint_token

    settings = CommonSettings()
    return mint_token(
        role=role,
        org=org,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        directory=dev_key_dir(settings),
    )


def _show_journey(url: str, case_id: str, token: str, timeout: float = 20.0) -> None:
    """Follow the first (acute) case until notify has delivered, and print its timeline."""
    deadline = time.monotonic() + timeout
    case: dict[str, object] = {}
    while time.monotonic() < deadline:
        case = httpx.get(f"{url}/v1/cases/{case_id}", timeout=5, headers={"Authorization": f"Bearer {token}"}).json()
        if case.get("status") == "notified":
            break
        time.sleep(0.3)
    risk = case.get("risk") or {}
    console.print(
        f"acute demo case {url}/v1/cases/{case_id}: status {case.get('status')}, "
        f"risk {risk.get('level') if isinstance(risk, dict) else '?'}"
    )
    for entry in case.get("timeline", []):  # type: ignore[attr-defined]  # JSON list of dicts
        console.print(f"  {entry['at']}  {entry['summary']}")


async def _read_dlq(bootstrap: str, topic: str, limit: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        rows: list[dict[str, object]] = []
        while len(rows) < limit and await _behind(consumer, end):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode(errors="replace") for k, v in record.headers}
                    rows.append(
                        {
                            "partition": record.partition,
                            "offset": record.offset,
                            "reason": headers.get("dlq_reason", ""),
                            "kind": headers.get("dlq_error_kind", ""),
                            "source_offset": headers.get("dlq_source_offset", ""),
                            "headers": headers,
                            "value": record.value,
                        }
                    )
        return rows[:limit]
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return True
    return False


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[str, typer.Argument(help="The source topic, e.g. weerbaar.incident.reported.v1")],
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List what was dead-lettered for TOPIC, with the reasons."""
    settings = CommonSettings()
    rows = asyncio.run(_read_dlq(settings.kafka_bootstrap, dlq_topic(topic.removesuffix(".dlq")), limit))
    if as_json:
        console.print_json(json.dumps([{k: v for k, v in r.items() if k != "value"} for r in rows]))
        return
    table = Table("partition", "offset", "kind", "source offset", "reason")
    for row in rows:
        table.add_row(
            str(row["partition"]),
            str(row["offset"]),
            str(row["kind"]),
            str(row["source_offset"]),
            str(row["reason"])[:100],
        )
    console.print(table)


@app.command()
def replay(
    target_db: Annotated[
        str | None, typer.Option("--target-db", help="Fresh database to rebuild into (default: <db>_replay_<time>)")
    ] = None,
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", help="Table(s) to print, e.g. year,role (repeatable)")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Rebuild reporting's projection from the event log (offset 0) into a fresh database and print the figures."""
    # Here, not at the top: reporting's modules take seconds to import, and every other command (a token) needs none.
    from services.reporting.publishing import STANDARD_BREAKDOWNS
    from services.reporting.settings import Settings as ReportingSettings

    settings = ReportingSettings()
    target = target_db or f"{settings.mongodb_db}_replay_{time.strftime('%Y%m%d%H%M%S')}"
    if target == settings.mongodb_db:
        console.print("[red]the target must not be the live database[/red]")
        raise typer.Exit(2)
    tables = [tuple(g.split(",")) for g in group_by] if group_by else list(STANDARD_BREAKDOWNS)
    window = (date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None)
    result, figures = asyncio.run(_replay(settings, target, tables, window, quiet=as_json))
    if as_json:
        typer.echo(json.dumps({"target_db": target, **result, "tables": figures}, ensure_ascii=False))
        return
    console.print(f"rebuilt into {target}: {result['events']} events, {result['invalid']} invalid (skipped)")
    for name, cells in figures.items():
        table = Table(name, "incidents", "affected", "share", title=f"group_by={name}")
        for cell in cells:
            share = cell["share_affected"]
            table.add_row(
                ", ".join(f"{k}={v}" for k, v in cell["dims"].items()) or "total",
                "< threshold" if cell["suppressed"] else str(cell["incidents"]),
                "" if cell["suppressed"] else str(cell["affected_office_holders"]),
                "" if share is None else f"{share:.2%}",
            )
        console.print(table)


async def _replay(
    settings: ReportingSettings,
    target: str,
    tables: list[tuple[str, ...]],
    window: tuple[date | None, date | None],
    *,
    quiet: bool,
) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    from services.reporting import domain as reporting_domain
    from services.reporting import queries
    from services.reporting.app import disclosure_of
    from services.reporting.population import load_population
    from services.reporting.replay import replay as rebuild_projection
    from services.reporting.store import ReportingStore

    with Progress(console=console, disable=quiet, transient=True) as progress:
        task = progress.add_task("replaying events", total=None)
        result = await rebuild_projection(
            bootstrap=settings.kafka_bootstrap,
            mongodb_uri=settings.mongodb_uri,
            target_db=target,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    population = load_population(settings.population_path)
    client = mongo.make_client(settings.mongodb_uri, app_name="weerbaar-replay")
    store = ReportingStore(client[target])
    figures: dict[str, list[dict[str, Any]]] = {}
    try:
        for dims in tables:
            cells = await queries.figures(
                store,
                reporting_domain.parse_group_by(",".join(dims)),
                *window,
                disclosure=disclosure_of(settings),
                population=population,
            )
            figures[",".join(dims)] = [c.model_dump() for c in cells]
    finally:
        await client.close()
    return {"events": result.events, "invalid": result.invalid}, figures


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="The source topic (or its .dlq), e.g. weerbaar.incident.reported.v1")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be replayed; send nothing")] = False,
    group: Annotated[str, typer.Option(help="Consumer group that remembers what was replayed")] = "",
) -> None:
    """Re-publish what was dead-lettered for TOPIC to its source topic; a second replay skips what was sent."""
    from weerbaar.replay import REPLAY_GROUP, replay

    settings = CommonSettings()
    dlq = dlq_topic(topic.removesuffix(".dlq"))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{'counting' if dry_run else 'replaying'} {dlq}", total=None)
        try:
            result = asyncio.run(
                replay(
                    settings.kafka_bootstrap,
                    dlq,
                    dry_run=dry_run,
                    group=group or REPLAY_GROUP,
                    on_total=lambda total: progress.update(task, total=total),
                    on_record=lambda: progress.advance(task),
                )
            )
        except LookupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    if dry_run:
        console.print(f"dry run: {result.pending} record(s) in {dlq} would be replayed")
        return
    targets = ", ".join(f"{n} to {t}" for t, n in sorted(result.by_target.items())) or "nothing new"
    console.print(f"replayed {result.replayed} record(s) from {dlq}: {targets}")


def main() -> None:
    app()
