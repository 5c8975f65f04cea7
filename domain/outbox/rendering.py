"""Mails rendered from this area's templates: `templates/<name>.subject.txt`, `.txt` and
`.html` (the HTML extends `_layout.html`). A mail to a person opens with
`{{ greeting(first_name) }}`."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.kernel.filters import FILTERS

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The automatic notifications a user may turn off ("Mes communications"); each carries a
# one-click unsubscribe link. The link needs the secret key, so the template gets this
# mark and the sending job puts the signed link in its place.
AUTOMATIC_KINDS = {
    "orders_open": "Ouverture des commandes",
    "order_recap": "Récapitulatif de commande",
    "reminder_24h": "Rappel 24 h avant la distribution",
    "reminder_4h": "Rappel 4 h avant la distribution",
    "duties_open": "Ouverture des inscriptions aux permanences",
    "duty_instructions": "Consignes de permanence",
    "duties_empty": "Permanences à pourvoir (administrateurs)",
    "duty_left": "Désistement de dernière minute (administrateurs)",
}
UNSUBSCRIBE_MARK = "__LIEN_DESABONNEMENT__"
# Mails a person wrote (the Messagerie); every other kind is sent by the platform itself.
WRITTEN_BY_PEOPLE = {"message"}


def standard_headers(kind: str) -> dict[str, str]:
    """The headers a kind of mail always carries: `Auto-Submitted: auto-generated` on
    what the platform sends by itself (RFC 3834), so that auto-responders (« absent du
    bureau ») stay quiet; group messages carry their `List-Id` instead (messaging)."""
    if kind in WRITTEN_BY_PEOPLE:
        return {}
    return {"Auto-Submitted": "auto-generated"}


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(FILTERS)


def greeting(first_name: str | None) -> str:
    """Every mail's first line: « Bonjour Claire, », or « Bonjour, » for a person whose
    name nobody knows yet (an address added by an admin): never « Bonjour , »."""
    name = " ".join((first_name or "").split())
    return f"Bonjour {name}," if name else "Bonjour,"


_env.globals["greeting"] = greeting


def render(
    template: str, context: dict, kind: str = "", site_name: str | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) from templates/<template>.subject.txt, .txt and .html.

    An automatic notification ends with its unsubscribe link: the HTML layout shows
    `unsubscribe_url`, and the text gets a last paragraph."""
    if site_name is not None:
        context = {"site_name": site_name} | context
    automatic = kind in AUTOMATIC_KINDS
    if automatic:
        context = {
            **context,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "unsubscribe_kind": AUTOMATIC_KINDS[kind],
        }
    subject = _env.get_template(f"{template}.subject.txt").render(context).strip()
    text = _env.get_template(f"{template}.txt").render(context)
    # The subject is the HTML part's title and heading (_layout.html): a screen reader
    # announces what the mail is about, and moves through it by its headings.
    html = _env.get_template(f"{template}.html").render({**context, "mail_subject": subject})
    if automatic:
        text = (
            text.rstrip("\n")
            + f"\n\n--\nE-mail automatique « {AUTOMATIC_KINDS[kind]} ». Ne plus recevoir ce "
            + "type d'e-mail (ou choisissez dans Mon compte, Mes communications) :\n"
            + f"{UNSUBSCRIBE_MARK}\n"
        )
    return subject, text, html
