""" "Importer des clients": a CSV as spreadsheets really write it, a preview of every row,
then all rows in one transaction or nothing.

Spreadsheets write `;` or `,` separated files, in UTF-8 (with or without BOM) or in
Windows-1252 (Excel in France), with quoted fields and headers in any order and spelling.
The preview is carried to the confirmation signed (HMAC of the secret key), so what is
imported is exactly what was shown, and nothing is kept on the server in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain import outbox
from domain.database import insert_rows, transaction
from domain.kernel import clock, csvio, tokens
from domain.members import INVITE_TTL, consent, invitation_mail, welcome_mail
from domain.members.import_file import CHUNK, SIGNED_FOR, Row, check_row

# The reading of the file, named here too: callers read `imports.parse(...)`.
from domain.members.import_file import COLUMNS as COLUMNS
from domain.members.import_file import MAX_BYTES as MAX_BYTES
from domain.members.import_file import REQUIRED as REQUIRED
from domain.members.import_file import STATUS_LABELS as STATUS_LABELS
from domain.members.import_file import ImportProblem as ImportProblem
from domain.members.import_file import Preview as Preview
from domain.members.import_file import parse as parse
from domain.members.import_file import status_labels as status_labels
from domain.outbox import MailContext
from domain.tables import AccountToken, Group, Membership, User

# ---- the preview, with what will happen to each person ---------------------------------


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _accounts(emails: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for chunk in _chunks(sorted(set(emails))):
        for user in await User.select(
            User.id, User.email, User.first_name, User.password_hash
        ).where(User.email.is_in(chunk)):
            found[user["email"]] = user
    return found


async def _members(group_id: int, user_ids: list[int]) -> set[int]:
    members: set[int] = set()
    for chunk in _chunks(sorted(set(user_ids))):
        rows = await Membership.select(Membership.user).where(
            (Membership.group == group_id) & Membership.user.is_in(chunk)
        )
        members.update(r["user"] for r in rows)
    return members


async def preview(group_id: int, data: bytes) -> Preview:
    """Parse, then say for each person what will be done: an invitation to join the group,
    or nothing for a member already."""
    result = parse(data)
    if result.problems:
        return result
    emails = [r.values[k] for r in result.rows for k in ("email", "email_2") if r.values.get(k)]
    accounts = await _accounts(emails)
    members = await _members(group_id, [a["id"] for a in accounts.values()])

    def status(email: str) -> str:
        account = accounts.get(email)
        return "member" if account is not None and account["id"] in members else "invite"

    for row in result.rows:
        if row.errors:
            continue
        row.status = status(row.values["email"])
        if row.values.get("email_2"):
            row.status_2 = status(row.values["email_2"])
    return result


# ---- carrying the preview to the confirmation -------------------------------------------

STORED = ("line", "email", "first_name", "last_name", "phone")
ADDRESS = ("address", "postal_code", "city")  # one address per row: a couple shares it


def _stored(row: Row) -> list:
    v = row.values
    return (
        [row.line]
        + [v.get(k, "") for k in STORED[1:]]
        + [v.get(f"{k}_2", "") for k in STORED[1:]]
        + [v.get(k, "") for k in ADDRESS]
    )


def sign(group_id: int, result: Preview, secret: str) -> str:
    """The rows to import, signed for this group, valid for an hour."""
    return tokens.sign(
        {"g": group_id, "rows": [_stored(r) for r in result.rows]}, secret, "member-import"
    )


def unsign(token: str, group_id: int, secret: str) -> list[dict]:
    """The signed rows, or ImportProblem if tampered with, expired, or for another group."""
    try:
        body = tokens.unsign(token, secret, "member-import", SIGNED_FOR)
    except tokens.Expired as error:
        raise ImportProblem(
            "L'aperçu a expiré (plus d'une heure) : chargez le fichier à nouveau."
        ) from error
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        raise ImportProblem("L'aperçu n'est pas valide : chargez le fichier à nouveau.")
    if body.get("g") != group_id:
        raise ImportProblem("Cet aperçu est celui d'un autre groupe : chargez le fichier ici.")
    rows = []
    for item in body["rows"]:
        first = dict(zip(STORED, item[:5], strict=True))
        second = dict(zip(STORED[1:], item[5:9], strict=True))
        address = dict(zip(ADDRESS, item[9:12], strict=True))
        rows.append(first | address | {f"{k}_2": v for k, v in second.items()})
    return rows


# ---- importing --------------------------------------------------------------------------


@dataclass
class Imported:
    created: int = 0
    linked: int = 0
    already: int = 0
    mail_ids: list[int] = field(default_factory=list)


def _recheck(rows: list[dict]) -> None:
    """The signed rows were checked at the preview; one bad row and nothing is imported."""
    seen: dict[str, int] = {}
    for item in rows:
        row = Row(line=item["line"], values={k: v for k, v in item.items() if k != "line"})
        check_row(row, seen)
        if row.errors:
            raise ImportProblem(f"Ligne {row.line} : {row.errors[0]}.")


async def confirm(
    group_id: int, rows: list[dict], ctx: MailContext, secret: str | None = None
) -> Imported:
    """Everyone in one transaction, or no one. People with an account are linked, not
    duplicated; a couple shares one membership (each is a member, `shared_with` the other).
    Mail rows are written in the same transaction; the caller sends them after commit.

    Each membership waits for the person's yes, and keeps what the file says of them: until
    then the admins see that, never an existing account's own data (consent.py). The
    mails' links to accept or decline are signed with `secret`."""
    _recheck(rows)
    group = await Group.select(Group.name, Group.slug).where(Group.id == group_id).first()
    people: dict[str, dict] = {}
    partner: dict[str, str] = {}
    for item in rows:
        for suffix in ("", "_2"):
            email = item.get(f"email{suffix}")
            if email:
                people[email] = {
                    "email": email,
                    "first_name": item[f"first_name{suffix}"],
                    "last_name": item[f"last_name{suffix}"],
                    "phone": item[f"phone{suffix}"],
                    **{k: item.get(k, "") for k in ADDRESS},
                }
        if item.get("email_2"):
            partner[item["email"]] = item["email_2"]
            partner[item["email_2"]] = item["email"]
    result = Imported()
    async with transaction():
        accounts = await _accounts(list(people))
        new = [p for email, p in people.items() if email not in accounts]
        moment = clock.now()
        inserted = await insert_rows(
            User,
            ("email", "first_name", "last_name", "phone", *ADDRESS, "password_hash", "created_at"),
            [
                (
                    p["email"],
                    p["first_name"],
                    p["last_name"],
                    p["phone"],
                    *(p[k] for k in ADDRESS),
                    None,
                    moment,
                )
                for p in new
            ],
            returning=("id", "email"),
        )
        for user in inserted:
            accounts[user["email"]] = {
                "id": user["id"],
                "email": user["email"],
                "first_name": people[user["email"]]["first_name"],
                "password_hash": None,
            }
        result.created = len(new)
        created = {user["id"] for user in inserted}
        members = await _members(group_id, [a["id"] for a in accounts.values()])
        joining = [a for a in accounts.values() if a["id"] not in members]
        result.already = len(accounts) - len(joining)
        result.linked = len(joining) - result.created

        def shared(account: dict) -> int | None:
            other = partner.get(account["email"])
            return accounts[other]["id"] if other else None

        def typed(account: dict) -> tuple:
            person = people[account["email"]]
            return tuple(person[k] for k in ("first_name", "last_name", "phone", *ADDRESS))

        added = await insert_rows(
            Membership,
            (
                "user",
                "group",
                "is_admin",
                "can_messages",
                "can_members",
                "created_at",
                "shared_with",
                "accepted_at",
                "existing_account",
                *(f"invited_{k}" for k in ("first_name", "last_name", "phone", *ADDRESS)),
            ),
            [
                (
                    a["id"],
                    group_id,
                    False,
                    False,
                    False,
                    moment,
                    shared(a),
                    None,
                    a["id"] not in created,
                    *typed(a),
                )
                for a in joining
            ],
            returning=("id", "user"),
        )
        membership_of = {m["user"]: m["id"] for m in added}
        links: dict[int, str] = {}
        token_rows = []
        for account in joining:
            if account["password_hash"] is None:
                raw, digest = tokens.new_token()
                links[account["id"]] = raw
                token_rows.append(
                    (account["id"], "invite", digest, "", moment + INVITE_TTL, None, moment)
                )
        await insert_rows(
            AccountToken,
            ("user", "purpose", "token_hash", "new_email", "expires_at", "used_at", "created_at"),
            token_rows,
        )

        def answer(account: dict) -> dict:
            if not secret:
                return {}
            found = consent.answer_links(
                membership_of[account["id"]], account["id"], group_id, secret, ctx.base_url
            )
            # Finishing a new account is its yes: its mail only offers to decline.
            return found if account["id"] not in created else {"decline_url": found["decline_url"]}

        mails = [
            invitation_mail(account, group, links[account["id"]], ctx, answer=answer(account))
            if account["id"] in links
            else welcome_mail(account, group, membership_of[account["id"]], ctx, answer(account))
            for account in joining
        ]
        mail_ids = await outbox.queue_many(mails)
    result.mail_ids = mail_ids
    return result


def template_csv() -> bytes:
    """The file to download and fill in: the headers and one example, for Excel (BOM, `;`)."""
    example = [
        "Camille",
        "Martin",
        "camille.martin@example.org",
        "06 12 34 56 78",
        "3 rue des Lilas",
        "69001",
        "Lyon",
        "Dominique",
        "Martin",
        "dominique.martin@example.org",
        "",
    ]
    return csvio.file_bytes([list(COLUMNS.values()), example])
