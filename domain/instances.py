"""Groups moved from one instance to another (e.g. the AMAP groups of the main platform to
their own site), as the seed's "bascule" did: the data stays in the same database, only the
host that serves the group changes.

A move is four columns of Group: `instance` (the new one), `previous_instance`,
`migrated_at` and `redirect_until`. Before `migrated_at` the old instance still serves the
group; from then until `redirect_until` the old hosts redirect every URL of the group to
the new host; after it they explain where the group went.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from domain.database import fetch, transaction
from domain.groups import KINDS
from domain.kernel.clock import now
from domain.kernel.dates import long_date, paris_midnight, short_date
from domain.kernel.wording import plural
from domain.settings import Instance
from domain.tables import Group, Membership, RedirectCount, Revision


class InstanceError(Exception):
    """A bad operator request; the message says what to fix, in French."""


# ---- where a group is served, and what its other hosts answer ---------------------------


class Answer(StrEnum):
    SERVE = "serve"  # this host serves the group (or it is not ours to redirect: 404 later)
    REDIRECT = "redirect"  # old host, within the window: permanent redirect to the new one
    BACK = "back"  # new host, before the move date: temporary redirect to the old one
    GONE = "gone"  # old host, after the window: a page saying where the group is now


@dataclass(frozen=True, slots=True)
class Move:
    group_id: int
    slug: str
    name: str
    instance: str
    previous_instance: str
    migrated_at: datetime
    redirect_until: datetime | None

    def serving(self, moment: datetime) -> str:
        return self.previous_instance if moment < self.migrated_at else self.instance

    def answer(self, host_instance: str, moment: datetime) -> Answer:
        """Only the two instances of the move answer for it; a third one says 404 as for any
        group that is not its own."""
        serving = self.serving(moment)
        if host_instance == serving or host_instance not in (
            self.instance,
            self.previous_instance,
        ):
            return Answer.SERVE
        if serving == self.previous_instance:
            return Answer.BACK
        if self.redirect_until is not None and moment >= self.redirect_until:
            return Answer.GONE
        return Answer.REDIRECT


def move_of(group: dict) -> Move | None:
    if not group.get("migrated_at") or not group.get("previous_instance"):
        return None
    if group["previous_instance"] == group["instance"]:
        return None
    return Move(
        group_id=group["id"],
        slug=group["slug"],
        name=group["name"],
        instance=group["instance"],
        previous_instance=group["previous_instance"],
        migrated_at=group["migrated_at"],
        redirect_until=group["redirect_until"],
    )


def serving_instance(group: dict, moment: datetime | None = None) -> str:
    """The instance whose hosts serve this group now (the old one until the move date)."""
    previous, migrated_at = group.get("previous_instance"), group.get("migrated_at")
    if previous and migrated_at and previous != group["instance"]:
        if (moment or now()) < migrated_at:
            return previous
    return group["instance"]


async def moves() -> list[Move]:
    """Every group ever moved: the routing layer keeps them in memory."""
    rows = await Group.select(
        Group.id,
        Group.slug,
        Group.name,
        Group.instance,
        Group.previous_instance,
        Group.migrated_at,
        Group.redirect_until,
    ).where(Group.migrated_at.is_not_null() & (Group.previous_instance != ""))
    return [move for move in map(move_of, rows) if move is not None]


async def add_redirect_counts(counts: dict[tuple[int, date], int]) -> None:
    """Add redirections served, per (group, Paris day): one UPSERT per pair, one transaction."""
    if not counts:
        return
    # Portable to SQLite (3.24+) and PostgreSQL; the unique index is (group, day).
    sql = (
        'INSERT INTO redirect_count ("group", day, count) VALUES ({}, {}, {}) '
        'ON CONFLICT ("group", day) DO UPDATE SET count = redirect_count.count + excluded.count'
    )
    async with transaction():
        for (group_id, day), count in sorted(counts.items()):
            await RedirectCount.raw(sql, group_id, day, count)


# ---- what pages show about a move --------------------------------------------------------


def _instance_name(instances: Iterable[Instance], key: str) -> str:
    for instance in instances:
        if instance.key == key:
            return instance.name
    return key


def migration_of(
    group: dict, instances: Sequence[Instance], moment: datetime | None = None
) -> dict | None:
    """For PARAMÈTRES: where the group came from, when, and the state of the redirection."""
    move = move_of(group)
    if move is None:
        return None
    moment = moment or now()
    if moment < move.migrated_at:
        state = "à venir"
    elif move.redirect_until is None or moment < move.redirect_until:
        state = "en cours"
    else:
        state = "terminée"
    return {
        "previous": _instance_name(instances, move.previous_instance),
        "instance": _instance_name(instances, move.instance),
        "migrated_at": long_date(move.migrated_at),
        "redirect_until": long_date(move.redirect_until) if move.redirect_until else "",
        "state": state,
    }


def _slug_in(path: str) -> str | None:
    if not path.startswith("/g/"):
        return None
    slug = path[3:].split("/", 1)[0].split("?", 1)[0]
    return slug or None


async def arrival_notice(next_path: str, instance: Instance, moment: datetime | None = None):
    """On the login page of the new host: the page asked for is a group that moved here and
    whose old host still redirects, so the visitor most likely just came from there (with
    their session left behind on the old host)."""
    slug = _slug_in(unquote(urlsplit(next_path or "").path))
    if slug is None:
        return None
    group = await Group.select().where(Group.slug == slug).first()
    move = move_of(group) if group else None
    if move is None or move.instance != instance.key:
        return None
    moment = moment or now()
    if moment < move.migrated_at or (move.redirect_until and moment >= move.redirect_until):
        return None
    return (
        f"Ce groupe ({move.name}) a déménagé sur {instance.name} : "
        "connectez-vous ici avec les mêmes identifiants."
    )


async def home_groups(
    user_id: int, instance_key: str, my_groups: list[dict], moment: datetime | None = None
) -> tuple[list[dict], list[dict]]:
    """The user's groups for this instance's home (`my_groups` lists them by their
    `instance` column), corrected for moves: a group keeps showing on its old site until
    the move date, then shows there as "moved" with its new address (old bookmarks, old
    invitation mails); one query."""
    rows = await Membership.select(
        Membership.group.id.as_alias("id"),
        Membership.group.name.as_alias("name"),
        Membership.group.slug.as_alias("slug"),
        Membership.group.kind.as_alias("kind"),
        Membership.is_admin,
        Membership.group.instance.as_alias("instance"),
        Membership.group.previous_instance.as_alias("previous_instance"),
        Membership.group.migrated_at.as_alias("migrated_at"),
    ).where(
        (Membership.user == user_id)
        & Membership.group.migrated_at.is_not_null()
        & (
            (Membership.group.previous_instance == instance_key)
            | (Membership.group.instance == instance_key)
        )
    )
    moment = moment or now()
    served_here = {r["id"] for r in rows if serving_instance(r, moment) == instance_key}
    served_elsewhere = {r["id"] for r in rows} - served_here
    shown = [g for g in my_groups if g["id"] not in served_elsewhere]
    known = {g["id"] for g in shown}
    shown += [r for r in rows if r["id"] in served_here and r["id"] not in known]
    moved = [
        r for r in rows if r["id"] in served_elsewhere and r["previous_instance"] == instance_key
    ]
    return (
        sorted(shown, key=lambda g: g["name"].lower()),
        sorted(moved, key=lambda g: g["name"].lower()),
    )


# ---- the operator commands ---------------------------------------------------------------


def _keys(instances: Sequence[Instance]) -> str:
    return ", ".join(i.key for i in instances)


async def migrate_groups(
    instances: Sequence[Instance],
    *,
    to: str,
    from_date: date,
    until: date,
    kind: str | None = None,
    slugs: Sequence[str] = (),
    source: str | None = None,
    dry_run: bool = False,
) -> list[dict]:
    """Move groups to instance `to`: those named by `slugs`, or every group of `kind` on the
    `source` instance (the default instance if not given). A group already on `to` after an
    earlier move, named by its slug, only gets its dates changed (to extend a redirection).

    Redirection from `from_date` 00:00 to `until` 00:00, Paris time."""
    keys = [i.key for i in instances]
    if to not in keys:
        raise InstanceError(f"Instance cible inconnue : {to!r} (instances : {_keys(instances)}).")
    if source is not None and source not in keys:
        raise InstanceError(
            f"Instance d'origine inconnue : {source!r} (instances : {_keys(instances)})."
        )
    if source is None and not slugs:
        source = keys[0]
    if source == to:
        raise InstanceError(f"L'instance d'origine et la cible sont la même : {to!r}.")
    if until <= from_date:
        raise InstanceError("La fin de la redirection (--until) doit suivre --from-date.")
    if kind is not None and kind not in KINDS:
        raise InstanceError(f"Type de groupe inconnu : {kind!r} (types : {', '.join(KINDS)}).")
    if not slugs and kind is None:
        raise InstanceError("Indiquez les groupes : --slug SLUG (plusieurs possibles) ou --kind.")

    query = Group.select(
        Group.id,
        Group.slug,
        Group.name,
        Group.kind,
        Group.instance,
        Group.previous_instance,
        Group.migrated_at,
    ).order_by(Group.name)
    if slugs:
        query = query.where(Group.slug.is_in(list(slugs)))
    else:
        query = query.where(Group.instance == source)
    if kind is not None:
        query = query.where(Group.kind == kind)
    found = await query
    if slugs:
        missing = sorted(set(slugs) - {g["slug"] for g in found})
        if missing:
            what = f"de type {kind} " if kind else ""
            noun = "Groupe" if len(missing) == 1 else "Groupes"
            found = "introuvable" if len(missing) == 1 else "introuvables"
            raise InstanceError(f"{noun} {what}{found} : {', '.join(missing)}.")
        wrong = [
            g["slug"]
            for g in found
            if (source is not None and g["instance"] not in (source, to))
            or (g["instance"] == to and not g["previous_instance"])
        ]
        if wrong:
            raise InstanceError(
                f"{'Groupe qui n’est' if len(wrong) == 1 else 'Groupes qui ne sont'} pas sur "
                f"l'instance d'origine : {', '.join(wrong)}."
            )

    migrated_at, redirect_until = paris_midnight(from_date), paris_midnight(until)
    done: list[dict] = []
    for group in found:
        moving = group["instance"] != to
        done.append(
            {
                "slug": group["slug"],
                "name": group["name"],
                "kind": group["kind"],
                "from": group["instance"] if moving else group["previous_instance"],
                "to": to,
                "migrated_at": migrated_at,
                "redirect_until": redirect_until,
                "action": "déplacé" if moving else "dates mises à jour",
                "id": group["id"],
            }
        )
    if dry_run or not done:
        return done
    async with transaction():
        for row in done:
            await Group.update(
                {
                    Group.instance: to,
                    Group.previous_instance: row["from"],
                    Group.migrated_at: migrated_at,
                    Group.redirect_until: redirect_until,
                }
            ).where(Group.id == row["id"])
        await bump_moves()
    return done


# ---- the revision every web process checks ------------------------------------------------

_BUMP = (
    "INSERT INTO revision (name, number) VALUES ('moves', 1) "
    "ON CONFLICT (name) DO UPDATE SET number = revision.number + 1"
)


async def bump_moves() -> None:
    """In the transaction of a move: every web process reloads its list at its next request."""
    await Revision.raw(_BUMP)


_REVISION = "SELECT number FROM revision WHERE name = {}"


async def moves_revision() -> int:
    """One indexed read of a single row, with each request for a group's page."""
    rows = await fetch(Revision, _REVISION, "moves")
    return rows[0]["number"] if rows else 0


async def migrated_groups() -> list[dict]:
    """Moved groups with their dates and the redirections served per day (two queries)."""
    groups = (
        await Group.select(
            Group.id,
            Group.slug,
            Group.name,
            Group.kind,
            Group.instance,
            Group.previous_instance,
            Group.migrated_at,
            Group.redirect_until,
        )
        .where(Group.migrated_at.is_not_null() & (Group.previous_instance != ""))
        .order_by(Group.migrated_at)
        .order_by(Group.name)
    )
    days: dict[int, list[tuple[date, int]]] = {g["id"]: [] for g in groups}
    if groups:
        rows = (
            await RedirectCount.select(RedirectCount.group, RedirectCount.day, RedirectCount.count)
            .where(RedirectCount.group.is_in(list(days)))
            .order_by(RedirectCount.day)
        )
        for row in rows:
            days[row["group"]].append((row["day"], row["count"]))
    return [g | {"days": days[g["id"]], "total": sum(c for _, c in days[g["id"]])} for g in groups]


def moved_report(done: list[dict], instances: Sequence[Instance], dry_run: bool) -> str:
    """What `migrate-groups` prints."""
    if not done:
        return "Aucun groupe à déplacer."
    lines = [
        f"{row['name']} ({row['slug']}, {KINDS.get(row['kind'], row['kind'])}) : "
        f"{_instance_name(instances, row['from'])} → {_instance_name(instances, row['to'])}"
        f", {row['action']} ; migré le {short_date(row['migrated_at'])}, redirection "
        f"jusqu'au {short_date(row['redirect_until'])} (heure de Paris)"
        for row in done
    ]
    if dry_run:
        lines.append(
            f"{plural(len(done), 'groupe serait concerné', 'groupes seraient concernés')}"
            " (--dry-run : rien n'est changé)."
        )
    else:
        lines.append(f"{plural(len(done), 'groupe traité', 'groupes traités')}.")
    return "\n".join(lines)


def migrated_report(groups: list[dict], instances: Sequence[Instance], moment: datetime) -> str:
    """What `migrated-groups` prints."""
    if not groups:
        return "Aucun groupe déplacé."
    lines = []
    for g in groups:
        until = g["redirect_until"]
        if moment < g["migrated_at"]:
            state = "à venir"
        elif until is None or moment < until:
            state = "en cours"
        else:
            state = "terminée"
        lines.append(
            f"{g['name']} ({g['slug']}) : {_instance_name(instances, g['previous_instance'])} → "
            f"{_instance_name(instances, g['instance'])}"
        )
        lines.append(
            f"  migré le {short_date(g['migrated_at'])}, redirection jusqu'au "
            f"{short_date(until) if until else '(sans fin)'} : {state}"
        )
        lines.append(f"  redirections servies : {g['total']}")
        lines += [f"    {day.isoformat()} : {count}" for day, count in g["days"]]
    return "\n".join(lines)
