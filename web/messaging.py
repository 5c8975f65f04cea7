"""MESSAGERIE: messages written by admins (or members with the messaging right) to the
group's members, a catalog's subscribers, a distribution's orderers, the waiting list or
the admins; the count of recipients, a preview, and the history with delivery states."""

from __future__ import annotations

import secrets
from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile

from domain import messaging
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Multipart
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render


class MessageForm(msgspec.Struct):
    subject: str = ""
    body: str = ""
    recipients: str = "all"
    form_key: str = ""
    attachment: UploadFile | None = None


async def _page(
    request: Request,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    preview: dict | None = None,
) -> dict:
    group = request.state.group
    form = form or {"subject": "", "body": "", "recipients": "all"}
    choices = await messaging.recipient_choices(group["id"])
    reach = await messaging.reach(group["id"], form["recipients"])
    return group_context(
        request,
        active="messagerie",
        choices=choices,
        form=form,
        form_key=secrets.token_urlsafe(12),
        count=reach.total if reach else None,
        reach=reach,
        errors=errors or {},
        preview=preview,
        history=await messaging.history(group["id"]),
        flash=pop_flash(request),
        max_attachment=messaging.MAX_ATTACHMENT_LABEL,
    )


async def _draft(data: MessageForm) -> messaging.Draft:
    attachment, name = None, ""
    if data.attachment is not None and data.attachment.filename:
        # One byte more than allowed is enough to refuse it.
        attachment = await data.attachment.read(messaging.MAX_ATTACHMENT + 1)
        name = data.attachment.filename
    return messaging.Draft(
        subject=data.subject,
        body=data.body,
        recipients=data.recipients,
        attachment_name=name,
        attachment=attachment or None,
    )


def _form(data: MessageForm) -> dict:
    return {"subject": data.subject, "body": data.body, "recipients": data.recipients}


def sent_notice(reached: messaging.Reach) -> str:
    """« Message envoyé à 4 destinataires. », and who will not get it by mail."""
    text = f"Message envoyé à {plural(reached.total, 'destinataire')}."
    if reached.unreachable:
        will = "ne le recevra" if reached.unreachable == 1 else "ne le recevront"
        text += f" {reached.unreachable} {will} pas par e-mail ({reached.detail})."
    return text


@get("/g/{slug:str}/messagerie", opt=policy(Policy.MESSAGES), name="group_messagerie")
async def messagerie_page(request: Request, slug: str) -> object:
    return render(request, "messaging/page.html", await _page(request))


@get("/g/{slug:str}/messagerie/destinataires", opt=policy(Policy.MESSAGES))
async def recipient_count(request: Request, slug: str, recipients: str = "all") -> object:
    """The count as the choice changes (htmx); without htmx, the page with that choice."""
    form = {"subject": "", "body": "", "recipients": recipients}
    return render(
        request,
        "messaging/page.html",
        await _page(request, form=form),
        fragment="messaging/_count.html",
    )


@post("/g/{slug:str}/messagerie/apercu", opt=policy(Policy.MESSAGES))
async def preview(request: Request, slug: str, data: Annotated[MessageForm, Multipart]) -> object:
    draft = await _draft(data)
    try:
        shown = await messaging.preview(
            request.state.group, request.state.user, draft, mail_context(request)
        )
    except FieldErrors as error:
        return render(
            request,
            "messaging/page.html",
            await _page(request, form=_form(data), errors=error.errors),
            fragment="messaging/_preview.html",
            status_code=form_status(request),
        )
    return render(
        request,
        "messaging/page.html",
        await _page(request, form=_form(data), preview=shown),
        fragment="messaging/_preview.html",
    )


@post("/g/{slug:str}/messagerie", opt=policy(Policy.MESSAGES))
async def send_message(
    request: Request, slug: str, data: Annotated[MessageForm, Multipart]
) -> object:
    draft = await _draft(data)
    try:
        message_id, reached = await messaging.send(
            request.state.group,
            request.state.user,
            draft,
            mail_context(request),
            form_key=data.form_key,
        )
    except FieldErrors as error:
        return render(
            request,
            "messaging/page.html",
            await _page(request, form=_form(data), errors=error.errors),
            status_code=form_status(request),
        )
    if message_id is not None:
        await mail_jobs.hand_over_message(message_id)
        flash(request, sent_notice(reached))
    return redirect(request, f"/g/{slug}/messagerie")


handlers = [messagerie_page, recipient_count, preview, send_message]
