"""Accounts: inscription, connexion, déconnexion, mot de passe oublié, changement d'e-mail."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from domain import accounts, instances, members
from domain.accounts import FieldErrors, InvalidLink, TooManyAttempts
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.pages import redirect, render, safe_next

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


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


class EmailChangeForm(msgspec.Struct):
    new_email: str = ""
    password: str = ""


def mail_context(request: Request) -> accounts.MailContext:
    instance = request.state.instance
    return accounts.MailContext(
        instance=instance.key, site_name=instance.name, base_url=instance.url
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "inconnue"


def log_in(request: Request, user_id: int) -> None:
    """A fresh session at login (a session id known before is worth nothing after);
    only a visitor's baskets are carried over, so that they can validate them."""
    kept = {k: v for k, v in (request.session or {}).items() if k.startswith("basket:")}
    request.clear_session()
    request.set_session({**kept, "user_id": user_id})


@get("/inscription", opt=policy(Policy.ANONYMOUS), name="signup")
async def signup_page(request: Request, next: str = "") -> object:
    return render(request, "accounts/signup.html", {"form": {}, "errors": {}, "next": next})


@post("/inscription", opt=policy(Policy.ANONYMOUS))
async def signup(request: Request, data: Annotated[SignupForm, Form]) -> object:
    # An account an admin prepared ("Nouveau client", import) is finished through the link
    # sent to its address, never by whoever types that address here.
    if not accounts.check_email(accounts.normalize_email(data.email)):
        pending = await members.invite_pending_account(
            data.email, safe_next(data.next, ""), mail_context(request)
        )
        if pending is not None:
            mail_jobs.enqueue(pending)
            return render(
                request,
                "members/pending_signup.html",
                {"email": accounts.normalize_email(data.email), "next": safe_next(data.next, "")},
            )
    try:
        user_id, mail_ids = await accounts.sign_up(
            email=data.email,
            password=data.password,
            first_name=data.first_name,
            last_name=data.last_name,
            ctx=mail_context(request),
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data) | {"password": ""}
        return render(
            request,
            "accounts/signup.html",
            {"form": form, "errors": error.errors, "next": data.next},
            status_code=200 if request.headers.get("hx-request") else 422,
        )
    mail_jobs.enqueue(mail_ids)
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
            max_per_account=settings.login_max_failures_per_account,
            max_per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_window_seconds,
        )
    except (FieldErrors, TooManyAttempts) as error:
        errors = (
            error.errors
            if isinstance(error, FieldErrors)
            else {
                "password": "Trop de tentatives de connexion. "
                f"Réessayez dans {error.minutes} minutes ou réinitialisez votre mot de passe."
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
            status_code=200 if request.headers.get("hx-request") else 422,
        )
    log_in(request, user_id)
    return redirect(request, safe_next(data.next))


@post("/deconnexion", opt=policy(Policy.ANONYMOUS))
async def logout(request: Request) -> object:
    request.clear_session()
    return redirect(request, "/")


@get("/compte/mot-de-passe-oublie", opt=policy(Policy.ANONYMOUS))
async def forgot_page(request: Request) -> object:
    return render(request, "accounts/forgot.html", {"form": {}, "errors": {}, "sent": False})


@post("/compte/mot-de-passe-oublie", opt=policy(Policy.ANONYMOUS))
async def forgot(request: Request, data: Annotated[EmailForm, Form]) -> object:
    errors = accounts.check_email(accounts.normalize_email(data.email))
    if not errors:
        mail_jobs.enqueue(await accounts.request_password_reset(data.email, mail_context(request)))
    return render(
        request,
        "accounts/forgot.html",
        {"form": {"email": data.email}, "errors": errors, "sent": not errors},
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
            status_code=200 if request.headers.get("hx-request") else 422,
        )
    mail_jobs.enqueue(mail_ids)
    return render(
        request,
        "accounts/account.html",
        {"form": {}, "errors": {}, "flash": None, "sent": accounts.normalize_email(data.new_email)},
        fragment="accounts/_email_form.html",
    )


@get("/compte/email/{token:str}", opt=policy(Policy.ANONYMOUS))
async def email_confirm(request: Request, token: str) -> object:
    try:
        new_email = await accounts.confirm_email_change(token)
    except (InvalidLink, FieldErrors):
        return render(request, "accounts/email_confirmed.html", {"ok": False}, status_code=410)
    return render(request, "accounts/email_confirmed.html", {"ok": True, "email": new_email})


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
    email_change,
    email_confirm,
]
