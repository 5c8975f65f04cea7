"""The command line: `python app.py <command>`, or `litestar <command>` (Litestar's click
CLI finds app.py; the app's CLI plugin adds these commands to it).

    migrate           apply the database migrations (the Procfile's release step)
    seed-demo         the demonstration data (once; a second run changes nothing)
    serve             the app under uvicorn, on --host/--port (env HOST, PORT)
    migrate-groups    move groups to another instance (same database)
    migrated-groups   the moved groups, their dates and the redirections served per day
    prune             delete what the platform no longer needs (delivered mails, dead links)
    scheduler         every minute, queue the due notifications (the Procfile's scheduler)
    dkim-record       the DNS record that publishes each instance's DKIM key
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import click
from litestar.plugins import CLIPluginProtocol

from domain.settings import Settings, SettingsError, load_settings
from web.observability import configure_logging


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(f"Configuration invalide : {error}") from error
    configure_logging(settings.log_level)
    return settings


def _run(work: Callable[[], Awaitable[Any]]) -> Any:
    """`work` in an event loop of its own. A command runs a few queries: a connection each,
    no pool (and, run in a test's process, no touching the app's pool)."""
    from domain import database

    async def session() -> Any:
        await database.prepare_engine()
        try:
            return await work()
        finally:
            await database.close_idle()

    return asyncio.run(session())


@click.command("migrate", help="Applique les migrations de la base de données.")
def migrate() -> None:
    from domain import database

    _settings()

    async def run() -> None:
        try:
            await database.migrate()
        finally:
            await database.close_idle()

    try:
        asyncio.run(run())
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


@click.command("seed-demo", help="Ajoute les données de démonstration (une seule fois).")
def seed_demo() -> None:
    from connectors import escarcelle_simulator as simulator
    from domain.demo import seed_demo as seed

    settings = _settings()
    # The demo's solidarity grocery, linked to the simulator's (`serve --escarcelle-simulator`).
    grocery = {"key": simulator.DEMO_KEY, "pdv_id": simulator.DEMO_PDV, "name": simulator.DEMO_NAME}
    click.echo(_run(lambda: seed(escarcelle=grocery, secret=settings.secret_key)))


@click.command("serve", help="Sert l'application avec uvicorn (PORT, HOST ; BASE_URL suit PORT).")
@click.option("--host", help="adresse d'écoute (défaut : HOST, sinon 127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65535), help="port (défaut : PORT, sinon 8000)")
@click.option(
    "--escarcelle-simulator",
    is_flag=True,
    help="sans ESCARCELLE_URL, démarre le simulateur de l'API Escarcelle supposée (la démo)",
)
def serve(host: str | None, port: int | None, escarcelle_simulator: bool) -> None:
    import uvicorn

    # Before the settings are read: the default BASE_URL follows the port.
    if port is not None:
        os.environ["PORT"] = str(port)
    if host is not None:
        os.environ["HOST"] = host
    simulator = None
    if escarcelle_simulator and not os.environ.get("ESCARCELLE_URL"):
        simulator = _start_simulator()
    settings = _settings()
    instance = settings.default_instance
    click.echo(f"\n  {instance.name} : {instance.url}/\n")
    if simulator:
        click.echo(
            f"  Escarcelle : {settings.escarcelle_url} (un simulateur de l'API supposée, pas "
            "le vrai Escarcelle)\n"
        )
    try:
        uvicorn.run(
            "app:app",
            host=settings.host,
            port=settings.port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        )
    finally:
        if simulator:
            simulator.terminate()
            simulator.wait(timeout=10)


def _start_simulator():
    """The simulator of Escarcelle's assumed API, a process of its own, for the demo's
    grocery; ESCARCELLE_URL points at it (port ESCARCELLE_SIMULATOR_PORT, 8765 by default)."""
    import subprocess
    import time

    import httpx

    port = os.environ.get("ESCARCELLE_SIMULATOR_PORT", "8765")
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.escarcelle_simulator", "--port", port]
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/_sim/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.terminate()
        raise click.ClickException(f"Le simulateur Escarcelle ne démarre pas sur le port {port}.")
    os.environ["ESCARCELLE_URL"] = url
    return process


@click.command("migrate-groups", help="Déplace des groupes vers une autre instance (même base).")
@click.option("--to", "to", required=True, help="clé de l'instance cible (ex. amap)")
@click.option("--from", "source", help="instance d'origine (défaut : la première)")
@click.option("--kind", help="tous les groupes de ce type (amap, market, grocery)")
@click.option("--slug", "slugs", multiple=True, help="un groupe (répétable)")
@click.option("--from-date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--dry-run", is_flag=True, help="montre sans rien changer")
def migrate_groups(to, source, kind, slugs, from_date, until, dry_run) -> None:
    from domain import instances
    from domain.groups import KINDS

    settings = _settings()
    if kind is not None and kind not in KINDS:
        raise click.BadParameter(f"choisir parmi {', '.join(sorted(KINDS))}", param_hint="--kind")
    try:
        done = _run(
            lambda: instances.migrate_groups(
                settings.instances,
                to=to,
                source=source,
                kind=kind,
                slugs=list(slugs),
                from_date=date.fromordinal(from_date.toordinal()),
                until=date.fromordinal(until.toordinal()),
                dry_run=dry_run,
            )
        )
    except instances.InstanceError as error:
        click.echo(f"Erreur : {error}", err=True)
        sys.exit(2)
    click.echo(instances.moved_report(done, settings.instances, dry_run))


@click.command("migrated-groups", help="Liste les groupes déplacés et les redirections servies.")
def migrated_groups() -> None:
    from domain import instances
    from domain.kernel import clock

    settings = _settings()
    groups = _run(instances.migrated_groups)
    click.echo(instances.migrated_report(groups, settings.instances, clock.now()))


@click.command(
    "prune",
    help="Supprime les e-mails envoyés anciens, les liens périmés et les comptes inutilisés "
    "(après avertissements).",
)
def prune() -> None:
    from domain import retention
    from domain.kernel import clock
    from domain.privacy import inactivity
    from jobs.scheduler import contexts

    settings = _settings()

    async def work() -> tuple[dict, inactivity.Pruned]:
        moment = clock.now()
        removed = await retention.prune(moment, settings.retention_days)
        # The warnings are outbox rows: the next sweep of a worker or web process sends them.
        pruned = await inactivity.prune_inactive(
            contexts(settings), moment, settings.inactive_account_days
        )
        return removed, pruned

    removed, pruned = _run(work)
    click.echo(
        f"Supprimés : {removed['mails']} e-mail(s) envoyé(s) il y a plus de "
        f"{settings.retention_days} jours, {removed['links']} lien(s) ou essai(s) de connexion "
        f"périmé(s), {removed['form_keys']} clé(s) de formulaire. Comptes inutilisés : "
        f"{pruned.warned} averti(s), {pruned.deleted} supprimé(s), {pruned.admins_told} "
        "signalé(s) aux administrateurs (Mode création)."
    )


@click.command("scheduler", help="Toutes les minutes, met en file les notifications dues.")
@click.option("--once", is_flag=True, help="un seul tour, puis s'arrêter")
def scheduler(once: bool) -> None:
    from jobs import scheduler as jobs_scheduler

    settings = _settings()
    asyncio.run(jobs_scheduler.start(settings, once=once))


@click.command(
    "dkim-record", help="Affiche l'enregistrement DNS (TXT) de la clé DKIM de chaque instance."
)
@click.option("--instance", "key", help="une seule instance (sa clé, ex. amap)")
def dkim_record(key: str | None) -> None:
    from pathlib import Path

    from domain.outbox import dkim

    settings = _settings()
    instances = settings.instances
    if key is not None:
        try:
            instances = [settings.instance(key)]
        except KeyError as error:
            known = ", ".join(i.key for i in settings.instances)
            raise click.BadParameter(
                f"instance inconnue ({known})", param_hint="--instance"
            ) from error
    unsigned = 0
    for instance in instances:
        sender = settings.sender(instance)
        found = settings.dkim(instance)
        if found is None:
            unsigned += 1
            click.echo(
                f"; {instance.key} ({instance.name}) : e-mails de {sender}, non signés "
                "(DKIM_* ou dkim_key_path et dkim_selector dans INSTANCES)\n"
            )
            continue
        try:
            record = dkim.public_record(Path(found.key_path).read_bytes())
        except (OSError, dkim.DkimKeyError) as error:
            raise click.ClickException(f"{instance.key} : {found.key_path} : {error}") from error
        click.echo(
            f"; {instance.key} ({instance.name}) : e-mails de {sender}, signés pour {found.domain}"
        )
        click.echo(dkim.zone_line(found.selector, found.domain, record))
        click.echo(f"; valeur seule, pour un formulaire d'hébergeur DNS :\n{record}\n")
    if unsigned == len(instances):
        raise click.ClickException("aucune clé DKIM configurée : voir le README")


COMMANDS = [
    migrate,
    seed_demo,
    serve,
    migrate_groups,
    migrated_groups,
    prune,
    scheduler,
    dkim_record,
]


class Commands(CLIPluginProtocol):
    """Adds the commands to Litestar's CLI (`litestar migrate`, …)."""

    def on_cli_init(self, cli: click.Group) -> None:
        for command in COMMANDS:
            cli.add_command(command)


def main(argv: list[str]) -> int:
    """`python app.py <command>`: the same commands, without building the app first."""
    group = click.Group(name="python app.py", commands={c.name: c for c in COMMANDS})
    try:
        group.main(argv, prog_name="python app.py", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        return 1
    return 0
