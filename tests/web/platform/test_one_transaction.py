"""Every form handler's writes happen in one transaction (hardening, point 8): the audit,
as a table kept true by the tests below.

Each route that changes something (every POST of the app) calls ONE domain function, and
that function does its writes in one `async with transaction():` (domain/database.py;
nested blocks join the outer one) or in one statement, with the refusals it can raise
checked before its first write or inside that transaction. Mails are outbox rows written
in the same transaction; the handler kicks the job after the commit.

What is written on purpose outside the change's transaction:
- throttle counters (`accounts.limit_requests`, `authenticate`): an attempt counts even
  when it is refused or fails, or a failure would be a free retry for a guesser;
- the session (web/sessions.py writes it after the handler, once the change committed).

The failures half-way that this audit fixed have their tests in their areas (a write
refused by a trigger, tests/faults.py): tests/web/catalogs/test_forms_one_transaction.py,
tests/web/accounts/test_password_one_transaction.py,
tests/web/communications/test_preferences_one_transaction.py.
"""

from __future__ import annotations

import importlib

ONE_TRANSACTION = "one transaction"
ONE_STATEMENT = "one statement"
NO_WRITE = "no write"

# "METHOD path" -> (the domain function(s) the handler calls, how its writes are atomic).
# Several functions: alternatives (one per request), never two writing in one request.
# "fixed:": was not atomic before this audit.
WRITING_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    # accounts
    "POST /inscription": (
        ("domain.members.invitations.invite_pending_account", "domain.accounts.sign_up"),
        "a pending account: its link again (one transaction), else the sign-up (throttle, "
        "then one transaction)",
    ),
    "POST /connexion": (
        ("domain.accounts.authenticate",),
        "throttle counters on purpose; a rehash is one statement",
    ),
    "POST /deconnexion": ((), "the session only"),
    "POST /compte/mot-de-passe-oublie": (
        ("domain.accounts.request_password_reset",),
        "throttle, then one transaction (old links used, new link, mail)",
    ),
    "POST /compte/mot-de-passe/{token:str}": (
        ("domain.accounts.reset_password",),
        "fixed: one transaction (link used, password, every session ended)",
    ),
    "POST /compte/mot-de-passe": (
        ("domain.accounts.change_password",),
        "fixed: one transaction (password, every session ended)",
    ),
    "POST /compte/email": (("domain.accounts.request_email_change",), ONE_TRANSACTION),
    "POST /compte/nom": (("domain.accounts.set_names",), ONE_STATEMENT),
    "POST /compte/donnees/supprimer": (
        ("domain.privacy.deletion.delete_own_account",),
        "one transaction (the account taken first, the placeholder, every reference)",
    ),
    # groups
    "POST /groupes/nouveau": (("domain.groups.create_group",), ONE_TRANSACTION),
    "POST /g/{slug:str}/parametres": (("domain.groups.update_settings",), ONE_STATEMENT),
    # producers
    "POST /g/{slug:str}/producteurs/nouveau": (
        ("domain.producers.save_vendor",),
        "fixed: one transaction (login account, its invitation, the producer)",
    ),
    "POST /g/{slug:str}/producteurs/{vendor_id:int}": (
        ("domain.producers.save_vendor",),
        "fixed: one transaction (login account, its invitation, the producer)",
    ),
    # distributions
    "POST /g/{slug:str}/distributions/lieux": (
        ("domain.distributions.save_place",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/distributions/lieux/{place_id:int}": (
        ("domain.distributions.save_place",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/distributions/nouvelle": (
        ("domain.distributions.create_distributions",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/distributions/{distribution_id:int}/deplacer": (
        ("domain.distributions.move_distribution",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/distributions/{distribution_id:int}/annuler": (
        ("domain.distributions.cancel_distribution",),
        ONE_TRANSACTION,
    ),
    # calendars
    "POST /g/{slug:str}/calendrier": (("domain.calendars.change_address",), ONE_TRANSACTION),
    # catalogs
    "POST /g/{slug:str}/catalogues/nouveau": (
        ("domain.catalogs.save_catalog",),
        "fixed: one transaction (the catalog and its distributions; were two calls)",
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}": (
        ("domain.catalogs.save_catalog",),
        "fixed: one transaction (the catalog and its distributions; were two calls)",
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne": (
        ("domain.catalogs.products.update_product_field",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/actifs": (
        ("domain.catalogs.products.set_products_active",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/nouveau": (
        ("domain.catalogs.products.save_product",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}": (
        ("domain.catalogs.products.save_product",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/import": (
        ("domain.catalogs.product_files.parse_import",),
        NO_WRITE,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/produits/import/confirmer": (
        ("domain.catalogs.products.import_products",),
        ONE_TRANSACTION,
    ),
    # producer space
    "POST /espace-producteur/{producer_id:int}/produits/catalogue": (
        ("domain.producer_space.products.add_to_catalog",),
        ONE_TRANSACTION + " (own products moved to the list, the offers)",
    ),
    "POST /espace-producteur/{producer_id:int}/produits/{product_id:int}/retirer": (
        ("domain.producer_space.products.remove_from_catalog",),
        ONE_TRANSACTION,
    ),
    "POST /espace-producteur/{producer_id:int}/produits/nouveau": (
        ("domain.producer_space.products.save_product",),
        ONE_STATEMENT,
    ),
    "POST /espace-producteur/{producer_id:int}/produits/{product_id:int}": (
        ("domain.producer_space.products.save_product",),
        ONE_STATEMENT,
    ),
    "POST /espace-producteur/{producer_id:int}/produits/import": (
        ("domain.catalogs.product_files.parse_import",),
        NO_WRITE,
    ),
    "POST /espace-producteur/{producer_id:int}/produits/import/confirmer": (
        ("domain.producer_space.products.import_products",),
        ONE_TRANSACTION,
    ),
    # escarcelle
    "POST /espace-producteur/{producer_id:int}/parametres/escarcelle": (
        ("domain.escarcelle.links.save_link",),
        "the key checked by GET /me first (jobs.escarcelle.connect, no write), then one "
        "transaction (the link, sealed key)",
    ),
    "POST /espace-producteur/{producer_id:int}/parametres/escarcelle/supprimer": (
        ("domain.escarcelle.links.remove_link",),
        ONE_TRANSACTION,
    ),
    "POST /espace-producteur/{producer_id:int}/ventes/{distribution_id:int}/renvoyer": (
        ("domain.escarcelle.sales.retry",),
        ONE_STATEMENT + " (the failed sales queued again; the push is a job)",
    ),
    "POST /espace-producteur/{producer_id:int}/stocks/synchroniser": (
        ("domain.escarcelle.stocks.apply",),
        "the claim (one statement), GET /stocks outside any transaction, then one "
        "transaction (lock, one UPDATE); the release (one statement)",
    ),
    "POST /espace-producteur/{producer_id:int}/produits/import-escarcelle": (
        ("domain.escarcelle.catalogue.confirm",),
        "one transaction (the preview's key, new and updated products, stock)",
    ),
    "POST /g/{slug:str}/membres/import-escarcelle": (
        ("domain.escarcelle.beneficiaries.preview",),
        NO_WRITE,
    ),
    "POST /g/{slug:str}/membres/import-escarcelle/confirmer": (
        ("domain.escarcelle.beneficiaries.confirm",),
        "one transaction (accounts, memberships, Escarcelle ids, consent records, "
        "invitation mails)",
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/distributions": (
        ("domain.catalogs.deliveries.add_delivery",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/retirer": (
        ("domain.catalogs.deliveries.remove_delivery",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/dates": (
        ("domain.catalogs.deliveries.set_delivery_window",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/documents": (
        ("domain.catalogs.documents.save_document",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/documents/{document_id:int}/supprimer": (
        ("domain.catalogs.documents.delete_document",),
        ONE_STATEMENT,
    ),
    # ordering
    "POST /g/{slug:str}/commandes/{distribution_id:int}": (
        ("domain.ordering.changes.submit_basket", "domain.ordering.changes.set_guest_quantities"),
        "a member: one transaction (key, order, lines, stock, subscription, membership, "
        "consent, recap mail, the order's debt); a visitor: no write (the basket is in the "
        "session)",
    ),
    "POST /g/{slug:str}/commandes/{distribution_id:int}/ligne/{product_id:int}": (
        ("domain.ordering.changes.set_quantity", "domain.ordering.changes.set_guest_quantities"),
        "a member: one transaction; a visitor: no write (the session)",
    ),
    "POST /g/{slug:str}/suivre": (("domain.members.joining.join_open_group",), ONE_TRANSACTION),
    # subscriptions
    "POST /g/{slug:str}/contrats/{catalog_id:int}": (
        ("domain.subscriptions.subscribe",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/souscriptions": (
        ("domain.subscriptions.subscribe",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/souscriptions/{subscription_id:int}/terminer": (
        ("domain.subscriptions.end_subscription",),
        ONE_TRANSACTION,
    ),
    # contracts
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/contrat": (
        ("domain.contracts.terms.save_terms",),
        "one statement (the terms' upsert), every refusal checked before it",
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/echeancier/{subscription_id:int}/cheque": (
        ("domain.contracts.instalments.record_cheque",),
        "one transaction (form key, account lock, the payment, its settlement)",
    ),
    "POST /g/{slug:str}/contrats/{catalog_id:int}/absences": (
        ("domain.contracts.absences.declare",),
        "one transaction (form key, subscription lock, absences, baskets and stock, the "
        "subscription's debt)",
    ),
    "POST /g/{slug:str}/contrats/{catalog_id:int}/absences/annuler": (
        ("domain.contracts.absences.cancel",),
        "one transaction (form key, subscription lock, the absence, the basket and its "
        "stock, the subscription's debt)",
    ),
    "POST /g/{slug:str}/contrats/{catalog_id:int}/partage": (
        ("domain.contracts.sharing.share_as_holder",),
        "one statement (the share's upsert), every refusal checked before it",
    ),
    "POST /g/{slug:str}/contrats/{catalog_id:int}/partage/retirer": (
        ("domain.contracts.sharing.unshare_as_holder",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/souscriptions/{subscription_id:int}/partage": (
        ("domain.contracts.sharing.set_partner",),
        ONE_STATEMENT,
    ),
    # catalog_orders
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}"
    "/lignes/{line_id:int}": (
        ("domain.catalog_orders.corrections.change_line",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}"
    "/adherents/{order_id:int}/lignes": (
        ("domain.catalog_orders.corrections.add_line",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/distributions/{distribution_id:int}/valider": (
        ("domain.catalog_orders.validation.save", "domain.payments.collect.record_received"),
        "one transaction (form key, quantities, absences, payments received, validation, "
        "its record used by the ledger); « Enregistrer les paiements »: one transaction "
        "(form key, payments)",
    ),
    # members
    "POST /g/{slug:str}/membres/nouveau": (
        ("domain.members.invitations.add_client",),
        "one transaction (account, membership, consent record, link, mail, fee)",
    ),
    "POST /g/{slug:str}/membres/adhesions/nouveau": (
        ("domain.members.fees.check_fee", "domain.members.invitations.add_client"),
        "the fee checked first (no write), then one transaction as above",
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/invitation": (
        ("domain.members.invitations.resend_invitation",),
        "one transaction (form key, old links used, new link, mail)",
    ),
    "POST /invitation/{token:str}": (
        ("domain.members.invitations.finish_invitation",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/reprise/fiche": (
        ("domain.members.takeover.prepare_sheet",),
        "one transaction (earlier links and codes used, the new link and code)",
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/reprise/lien": (
        ("domain.members.takeover.send_link",),
        "throttle, then one transaction (earlier links and codes used, new link, mail)",
    ),
    "POST /reprise": (
        ("domain.members.takeover.check_code",),
        "the throttle counter only, on purpose (a wrong code counts)",
    ),
    "POST /reprise/mot-de-passe": (
        ("domain.members.takeover.finish_by_ticket",),
        "one transaction (code used, password, account released, other links used, "
        "address or its confirmation link)",
    ),
    "POST /reprise/{token:str}": (
        ("domain.members.takeover.finish_by_link",),
        "one transaction (link used, password, account released, other links used, "
        "address or its confirmation link)",
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/consentement/{consent_id:int}/piece": (
        ("domain.members.proofs.attach",),
        "one statement (the record found through the group and the person first)",
    ),
    "POST /g/{slug:str}/membres/attente/{request_id:int}/accepter": (
        ("domain.members.joining.accept_request",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/membres/attente/{request_id:int}/refuser": (
        ("domain.members.joining.refuse_request",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/rejoindre": (("domain.members.joining.ask_to_join",), ONE_TRANSACTION),
    "POST /g/{slug:str}/membres/{user_id:int}/droits": (
        ("domain.members.rights.set_rights",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/retirer": (
        ("domain.members.rights.remove_member",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/membres/{user_id:int}/commander/{distribution_id:int}": (
        ("domain.ordering.changes.submit_basket",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/membres/adhesions": (
        ("domain.members.fees.check_fee", "domain.members.fees.record_fee"),
        "the fee checked first (no write), then one transaction (form key, fee)",
    ),
    "POST /g/{slug:str}/membres/import": (("domain.members.imports.preview",), NO_WRITE),
    "POST /g/{slug:str}/membres/import/confirmer": (
        ("domain.members.imports.confirm",),
        "one transaction (accounts, memberships, links, mails)",
    ),
    "POST /compte/marches/{group_id:int}/quitter": (
        ("domain.members.rights.leave_group",),
        ONE_TRANSACTION,
    ),
    "POST /adhesion/{token:str}/rejoindre": (("domain.members.consent.accept",), ONE_STATEMENT),
    "POST /adhesion/{token:str}/refuser": (
        ("domain.members.consent.decline",),
        "one transaction (membership, rights, coming orders and stock, subscriptions, mails)",
    ),
    # payments
    "POST /g/{slug:str}/parametres/paiements": (
        ("domain.payments.settings.save_settings",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/paiements/annonce": (("domain.payments.records.pledge",), ONE_STATEMENT),
    "POST /g/{slug:str}/paiements/membres/{user_id:int}/paiement": (
        ("domain.payments.records.record_payment",),
        "one transaction (form key, account lock, payment, its settlements)",
    ),
    "POST /g/{slug:str}/paiements/membres/{user_id:int}/remboursement": (
        ("domain.payments.records.record_payment",),
        "one transaction (form key, account lock, refund)",
    ),
    "POST /g/{slug:str}/paiements/membres/{user_id:int}/correction": (
        ("domain.payments.records.correct_debt",),
        "one transaction (account lock, form key, correction)",
    ),
    # order_forms
    "POST /g/{slug:str}/catalogues/{catalog_id:int}/bon-de-commande": (
        ("domain.order_forms.status.set_copy",),
        ONE_STATEMENT,
    ),
    # duties
    "POST /g/{slug:str}/permanences/{distribution_id:int}/{role_id:int}/inscription": (
        ("domain.duties.signups.sign_up",),
        "one transaction (the place taken by one conditional INSERT)",
    ),
    "POST /g/{slug:str}/permanences/{distribution_id:int}/{role_id:int}/desistement": (
        ("domain.duties.signups.leave",),
        "one transaction (the sign-up, the admins' mails when it is late)",
    ),
    "POST /g/{slug:str}/permanences/{distribution_id:int}/{role_id:int}/affecter": (
        ("domain.duties.signups.assign",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/permanences/{distribution_id:int}/{role_id:int}/retirer": (
        ("domain.duties.signups.remove",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/parametres/permanences": (
        ("domain.duties.roles.save_settings",),
        ONE_STATEMENT,
    ),
    "POST /g/{slug:str}/parametres/permanences/roles": (
        ("domain.duties.roles.save_role",),
        ONE_TRANSACTION,
    ),
    "POST /g/{slug:str}/parametres/permanences/roles/{role_id:int}": (
        ("domain.duties.roles.save_role",),
        "one transaction (the role, its volunteers' places renumbered)",
    ),
    "POST /g/{slug:str}/parametres/permanences/roles/{role_id:int}/supprimer": (
        ("domain.duties.roles.remove_role",),
        "one transaction (the role, its volunteers of the coming distributions)",
    ),
    # messaging
    "POST /g/{slug:str}/messagerie": (
        ("domain.messaging.send",),
        "one transaction (form key, message, one mail per recipient)",
    ),
    "POST /g/{slug:str}/messagerie/apercu": (("domain.messaging.preview",), NO_WRITE),
    # communications
    "POST /compte/communications": (
        ("domain.communications.set_preferences",),
        "fixed: one transaction (every switch)",
    ),
    "POST /desabonnement/{token:str}": (
        ("domain.communications.unsubscribe",),
        ONE_STATEMENT,
    ),
    "POST /compte/email-de-test": (
        ("domain.communications.queue_test_mail",),
        "throttle, then one statement (was two calls from the handler)",
    ),
}

# Pages reached by GET that write, each one domain function in one transaction: a link of
# a mail, and the end of a visitor's order after they logged in.
WRITING_PAGES = {
    "GET /compte/email/{token:str}": ("domain.accounts.confirm_email_change", ONE_TRANSACTION),
    "GET /g/{slug:str}/commandes/{distribution_id:int}/finaliser": (
        "domain.ordering.changes.submit_basket",
        ONE_TRANSACTION,
    ),
}


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_route_that_writes_is_in_the_audit(app):
    """A new POST (PUT, PATCH, DELETE) route fails here until its line is added above,
    once its writes are checked to be one transaction."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"}:
                found.add(f"{method} {route.path}")
    assert found - set(WRITING_ROUTES) == set(), "routes missing from the audit"
    assert set(WRITING_ROUTES) - found == set(), "audit lines for routes that are gone"


def test_every_function_of_the_audit_exists():
    for functions, _ in WRITING_ROUTES.values():
        for dotted in functions:
            assert callable(_resolve(dotted)), dotted
    for dotted, _ in WRITING_PAGES.values():
        assert callable(_resolve(dotted)), dotted
