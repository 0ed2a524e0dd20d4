"""``weerbaar audit``: verify the audit chain against its anchors, naming the first broken entry."""

from __future__ import annotations

import asyncio

import typer

from shared.messaging.kafka_auth import operator_options
from shared.runtime.settings import CommonSettings
from shared.store import mongo
from shared.web.anchors import AnchorReader, verify_with_anchors
from shared.web.audit import AuditLog, Verdict

audit_app = typer.Typer(help="The audit chain: verify it against its anchors", no_args_is_help=True)


async def _verify(settings: CommonSettings) -> Verdict:
    client = mongo.make_client(settings.mongodb_uri, app_name="weerbaar-audit")
    try:
        log = AuditLog(client[settings.mongodb_db], service="cli", key=settings.audit_secret)
        return await verify_with_anchors(log, AnchorReader(settings.kafka_bootstrap, operator_options(settings)))
    finally:
        await client.close()


@audit_app.command("verify")
def verify() -> None:
    """Recompute the keyed chain (WEERBAAR_AUDIT_KEY) and hold it against the anchors on weerbaar.audit.anchors.v1.

    Exit 0 when intact; 1 naming the first broken entry (edited, deleted, rewritten, or its tail removed).
    """
    settings = CommonSettings()
    verdict = asyncio.run(_verify(settings))
    if verdict.ok:
        typer.echo(f"audit chain intact: {verdict.entries} entries, {verdict.anchors} anchors match")
        return
    typer.echo(f"audit chain BROKEN at entry {verdict.broken}: {verdict.problem}", err=True)
    raise typer.Exit(1)
