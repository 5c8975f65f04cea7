"""The order form (bon de commande) sent to each producer when orders close for a
distribution: one mail per catalog and distribution with the table by product
(name, référence, unit, quantity, unit price, total), the list by member, the grand total,
and the same as a CSV for a French spreadsheet. The parts: `content` (what a form says:
its tables, its CSV, its mail) and `sending` (what the scheduler sends, once).

Rules:
- a catalog's orders close at its own window's end, or else the distribution's; its form
  goes then, to the producer (the producer's address, or else that of the account the
  producer logs in with) and, when the catalog says so, a copy to its coordinator;
- no mail when nobody ordered from the catalog;
- orders corrected after closing (by the catalog's managers, or an admin ordering for a
  member) send an updated form, marked as such, once the lines have stayed the same for
  QUIET (a coordinator's five corrections make one update, not five); until the start;
- exactly once per catalog, distribution and version, whatever the number of schedulers:
  the OrderForm row is the claim, its mails are written in the claim's transaction.
"""

from __future__ import annotations

from datetime import timedelta

# Corrections wait this long without another change before the updated form goes.
QUIET = timedelta(minutes=10)
# A distribution further away than this gets its form when it comes this close.
HORIZON = timedelta(days=31)
KIND = "order_form"
