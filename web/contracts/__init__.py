"""AMAP contracts beyond subscribing (domain/contracts): a contract's terms and its
« Échéancier » (coordinator side), absences and each holder's dates (MES CONTRATS), and
the second holder of a shared basket. Wired through web/subscriptions.py's handlers."""

from __future__ import annotations

from web.contracts import members, plans, sharing

handlers = [*plans.handlers, *members.handlers, *sharing.handlers]
