"""Accounts: inscription, connexion, déconnexion, mot de passe oublié, changement d'e-mail,
and « Vos prénom et nom » (asked before a first order when nobody gave them)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import msgspec
from litestar import Request, get, post

from domain import accounts, instances
from domain.accounts import TooManyAttempts
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.members import invitations
from domain.outbox import MailContext
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.forms import Form
from web.pages import flash, form_status, redirect, render, safe_next
from web.sessions import log_in, log_out, rotate


class SignupForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    first_name: str = ""
    last_name: str = ""
    next: str = ""


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


class EmailForm(msgspec.Struct):
    email: str = ""


class PasswordForm(msgspec.Struct):
    password: str = ""


class PasswordChangeForm(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""


class EmailChangeForm(msgspec.Struct):
    new_email: str = ""
    password: str = ""


class NamesForm(msgspec.Struct):
    first_name: str = ""
    last_name: str = ""
    next: str = ""


def mail_context(request: Request) -> MailContext:
    instance = request.state.instance
    return MailContext(instance=instance.key, site_name=instance.name, base_url=instance.url)


def wait_text(seconds: int) -> str:
    """30 -> "30 secondes", 120 -> "2 minutes"."""
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def too_many(error: TooManyAttempts) -> str:
    return f"Trop de demandes : réessayez dans {wait_text(error.seconds)}."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "inconnue"


@get("/inscription", opt=policy(Policy.ANONYMOUS), name="signup")
async def signup_page(request: Request, next: str = "") -> object:
    return render(request, "accounts/signup.html", {"form": {}, "errors": {}, "next": next})


@post("/inscription", opt=policy(Policy.ANONYMOUS))
async def signup(request: Request, data: Annotated[SignupForm, Form]) -> object:
    # An account an admin prepared ("Nouveau client", import) is finished through the link
    # sent to its address, never by whoever types that address here.
    if not accounts.check_email(accounts.normalize_email(data.email)):
        pending = await invitations.invite_pending_account(
            data.email, safe_next(data.next, ""), mail_context(request)
        )
        if pending is not None:
            await mail_jobs.hand_over(pending.mail_ids)
            return render(
                request,
                "members/pending_signup.html",
                {
                    "email": accounts.normalize_email(data.email),
                    "next": safe_next(data.next, ""),
                    "held": pending.held,
                },
            )
    try:
        user_id, mail_ids = await accounts.sign_up(
            email=data.email,
            password=data.password,
            first_name=data.first_name,
            last_name=data.last_name,
            ctx=mail_context(request),
            address=client_address(request),
        )
    except TooManyAttempts as error:
        form = msgspec.structs.asdict(data) | {"password": ""}
        return render(
            request,
            "accounts/signup.html",
            {"form": form, "errors": {"email": too_many(error)}, "next": data.next},
            status_code=429,
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data) | {"password": ""}
        return render(
            request,
            "accounts/signup.html",
            {"form": form, "errors": error.errors, "next": data.next},
            status_code=form_status(request),
        )
    await mail_jobs.hand_over(mail_ids)
    log_in(request, user_id)
    return redirect(request, safe_next(data.next))


async def moved_notice(request: Request, next_path: str) -> str | None:
    """ "Ce groupe a déménagé sur …" when the page asked for is a group that just moved here."""
    return await instances.arrival_notice(next_path, request.state.instance)


@get("/connexion", opt=policy(Policy.ANONYMOUS), name="login")
async def login_page(request: Request, next: str = "") -> object:
    return render(
        request,
        "accounts/login.html",
        {"form": {}, "errors": {}, "next": next, "moved": await moved_notice(request, next)},
    )


@post("/connexion", opt=policy(Policy.ANONYMOUS))
async def login(request: Request, data: Annotated[LoginForm, Form]) -> object:
    settings = request.app.state.settings
    try:
        user_id = await accounts.authenticate(
            email=data.email,
            password=data.password,
            address=client_address(request),
            max_per_pair=settings.login_max_per_pair,
            max_per_account=settings.login_max_per_account,
            window_seconds=settings.login_window_seconds,
        )
    except (FieldErrors, TooManyAttempts) as error:
        errors = (
            error.errors
            if isinstance(error, FieldErrors)
            else {
                "password": "Trop de tentatives de connexion depuis cet appareil. "
                f"Réessayez dans {wait_text(error.seconds)}, ou réinitialisez votre mot de passe."
            }
        )
        return render(
            request,
            "accounts/login.html",
            {
                "form": {"email": data.email},
                "errors": errors,
                "next": data.next,
                "moved": await moved_notice(request, data.next),
            },
            status_code=form_status(request),
        )
    log_in(request, user_id)
    return redirect(request, safe_next(data.next))


@post("/deconnexion", opt=policy(Policy.ANONYMOUS))
async def logout(request: Request) -> object:
    log_out(request)
    return redirect(request, "/")


@get("/compte/mot-de-passe-oublie", opt=policy(Policy.ANONYMOUS))
async def forgot_page(request: Request) -> object:
    return render(request, "accounts/forgot.html", {"form": {}, "errors": {}, "sent": False})


@post("/compte/mot-de-passe-oublie", opt=policy(Policy.ANONYMOUS))
async def forgot(request: Request, data: Annotated[EmailForm, Form]) -> object:
    errors = accounts.check_email(accounts.normalize_email(data.email))
    if not errors:
        try:
            await mail_jobs.hand_over(
                await accounts.request_password_reset(
                    data.email, mail_context(request), client_address(request)
                )
            )
        except TooManyAttempts as error:
            errors = {"email": too_many(error)}
    return render(
        request,
        "accounts/forgot.html",
        {"form": {"email": data.email}, "errors": errors, "sent": not errors},
        status_code=429 if errors.get("email", "").startswith("Trop") else 200,
    )


@get("/compte/mot-de-passe/{token:str}", opt=policy(Policy.ANONYMOUS))
async def reset_page(request: Request, token: str) -> object:
    valid = await accounts.reset_token_valid(token)
    return render(
        request,
        "accounts/reset.html",
        {"token": token, "valid": valid, "errors": {}},
        status_code=200 if valid else 410,
    )


@post("/compte/mot-de-passe/{token:str}", opt=policy(Policy.ANONYMOUS))
async def reset(request: Request, token: str, data: Annotated[PasswordForm, Form]) -> object:
    try:
        user_id = await accounts.reset_password(token, data.password)
    except FieldErrors as error:
        return render(
            request,
            "accounts/reset.html",
            {"token": token, "valid": True, "errors": error.errors},
            status_code=422,
        )
    except InvalidLink:
        return render(
            request,
            "accounts/reset.html",
            {"token": token, "valid": False, "errors": {}},
            status_code=410,
        )
    # Every browser logged in to this account was logged out; this one starts afresh.
    log_in(request, user_id)
    request.session["flash"] = "Votre mot de passe a été changé."
    return redirect(request, "/")


@get("/compte", opt=policy(Policy.USER), name="account")
async def account_page(request: Request) -> object:
    flash = request.session.pop("flash", None) if request.session else None
    return render(
        request, "accounts/account.html", {"form": {}, "errors": {}, "flash": flash, "sent": None}
    )


@post("/compte/email", opt=policy(Policy.USER))
async def email_change(request: Request, data: Annotated[EmailChangeForm, Form]) -> object:
    user = request.state.user
    try:
        mail_ids = await accounts.request_email_change(
            user["id"], data.new_email, data.password, mail_context(request)
        )
    except FieldErrors as error:
        return render(
            request,
            "accounts/account.html",
            {"form": {"new_email": data.new_email}, "errors": error.errors, "flash": None},
            fragment="accounts/_email_form.html",
            status_code=form_status(request),
        )
    await mail_jobs.hand_over(mail_ids)
    return render(
        request,
        "accounts/account.html",
        {"form": {}, "errors": {}, "flash": None, "sent": accounts.normalize_email(data.new_email)},
        fragment="accounts/_email_form.html",
    )


@post("/compte/mot-de-passe", opt=policy(Policy.USER))
async def password_change(request: Request, data: Annotated[PasswordChangeForm, Form]) -> object:
    """With the current password; every other browser logged in to the account is logged out."""
    user = request.state.user
    try:
        await accounts.change_password(user["id"], data.current_password, data.new_password)
    except FieldErrors as error:
        return render(
            request,
            "accounts/account.html",
            {"form": {}, "errors": error.errors, "flash": None, "sent": None},
            status_code=form_status(request),
        )
    log_in(request, user["id"])
    flash(request, "Votre mot de passe a été changé ; vos autres appareils sont déconnectés.")
    return redirect(request, "/compte")


@get("/compte/email/{token:str}", opt=policy(Policy.ANONYMOUS))
async def email_confirm(request: Request, token: str) -> object:
    try:
        new_email, mail_ids = await accounts.confirm_email_change(
            token, mail_context(request), request.app.state.settings.support_email
        )
    except (InvalidLink, FieldErrors):
        return render(request, "accounts/email_confirmed.html", {"ok": False}, status_code=410)
    await mail_jobs.hand_over(mail_ids)
    if request.session:
        rotate(request)  # the login changed: a session id known before is worth nothing now
    return render(request, "accounts/email_confirmed.html", {"ok": True, "email": new_email})


# ---- « Vos prénom et nom » -----------------------------------------------------------------


def names_needed(request: Request) -> bool:
    """The logged-in person has not given both names yet (an address an admin added)."""
    user = request.state.user
    return user is not None and accounts.lacks_names(user)


def names_url(next_path: str) -> str:
    """The short form, then back to `next_path` (a local path)."""
    return f"/compte/nom?next={quote(next_path, safe='/')}"


def _names_page(request: Request, form: dict, errors: dict, next_path: str, status: int = 200):
    return render(
        request,
        "accounts/names.html",
        {
            "form": form,
            "errors": errors,
            "next": next_path,
            "ordering": "/commandes/" in next_path,
        },
        status_code=status,
    )


@get("/compte/nom", opt=policy(Policy.USER))
async def names_page(request: Request, next: str = "") -> object:
    user = request.state.user
    form = {"first_name": user["first_name"], "last_name": user["last_name"]}
    return _names_page(request, form, {}, safe_next(next, ""))


@post("/compte/nom", opt=policy(Policy.USER))
async def names(request: Request, data: Annotated[NamesForm, Form]) -> object:
    next_path = safe_next(data.next, "")
    try:
        await accounts.set_names(request.state.user["id"], data.first_name, data.last_name)
    except FieldErrors as error:
        form = {"first_name": data.first_name, "last_name": data.last_name}
        return _names_page(request, form, error.errors, next_path, form_status(request))
    if "/commandes/" in next_path:
        flash(request, "Merci, vos prénom et nom sont enregistrés. Votre panier est gardé.")
    else:
        flash(request, "Vos prénom et nom sont enregistrés.")
    return redirect(request, next_path or "/compte")


handlers = [
    signup_page,
    signup,
    login_page,
    login,
    logout,
    forgot_page,
    forgot,
    reset_page,
    reset,
    account_page,
    password_change,
    email_change,
    email_confirm,
    names_page,
    names,
]
