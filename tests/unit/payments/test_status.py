"""Which debts are « Payé » or « À payer », derived from the operations (status.settle)."""

from __future__ import annotations

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from domain.payments.status import settle

_ids = iter(range(1, 10**9))


def op(kind: str, amount: int, subject: str = "", label: str = "") -> dict:
    return {
        "id": next(_ids),
        "kind": kind,
        "amount_cents": amount,
        "subject": subject,
        "label": label or subject,
    }


def test_a_payment_settles_the_debt_it_was_recorded_for_first():
    old = op("order", -1000, "order:1")
    new = op("order", -500, "order:2")
    pay = op("payment", 500)
    result = settle([old, new, pay], {pay["id"]: ["order:2"]})
    assert result.debts["order:2"].state == "paid"
    assert result.debts["order:1"].state == "due"
    assert result.debts["order:1"].left_cents == 1000
    assert result.balance_cents == -1000 and result.due_cents == 1000


def test_money_for_nothing_in_particular_goes_to_the_oldest_debts():
    first = op("order", -1000, "order:1")
    second = op("subscription", -3000, "subscription:1")
    pay = op("payment", 2000)
    result = settle([first, second, pay], {})
    assert result.debts["order:1"].state == "paid"
    assert result.debts["subscription:1"].paid_cents == 1000
    assert result.debts["subscription:1"].left_cents == 2000
    assert result.credit_cents == 0


def test_what_a_payment_does_not_use_for_its_debt_pays_the_others():
    a = op("order", -400, "order:1")
    b = op("order", -600, "order:2")
    pay = op("payment", 1000)
    result = settle([a, b, pay], {pay["id"]: ["order:2"]})
    assert result.debts["order:1"].state == result.debts["order:2"].state == "paid"
    assert result.credit_cents == 0 and result.balance_cents == 0


def test_a_correction_down_after_payment_leaves_a_credit_a_refund_takes_back():
    debt = op("order", -1000, "order:1")
    pay = op("payment", 1000)
    corrected = op("order", 300, "order:1")  # a quantity not delivered: 3 € less
    result = settle([debt, pay, corrected], {pay["id"]: ["order:1"]})
    assert result.debts["order:1"].due_cents == 700
    assert result.debts["order:1"].state == "paid"
    assert result.credit_cents == 300 and result.balance_cents == 300
    refund = op("refund", -300)
    after = settle([debt, pay, corrected, refund], {pay["id"]: ["order:1"]})
    assert after.credit_cents == 0 and after.balance_cents == 0
    assert after.debts["order:1"].state == "paid"


def test_a_refund_beyond_the_credit_unpays_the_newest_debts():
    a = op("order", -1000, "order:1")
    b = op("order", -1000, "order:2")
    pay = op("payment", 2000)
    refund = op("refund", -500)
    result = settle([a, b, pay, refund], {})
    assert result.debts["order:1"].state == "paid"
    assert result.debts["order:2"].left_cents == 500
    assert result.balance_cents == -500


def test_a_deleted_order_is_cancelled_and_its_payment_becomes_a_credit():
    debt = op("order", -800, "order:1")
    pay = op("payment", 800)
    cancel = op("order", 800, "order:1")
    result = settle([debt, pay, cancel], {pay["id"]: ["order:1"]})
    assert result.debts["order:1"].state == "cancelled"
    assert result.credit_cents == 800 and result.balance_cents == 800


def test_a_debt_corrected_below_zero_is_money_for_the_member():
    debt = op("order", -500, "order:1")
    fix = op("adjustment", 700, "order:1")  # 2 € more than the order: a gesture
    other = op("order", -200, "order:2")
    result = settle([debt, fix, other], {})
    assert result.debts["order:1"].state == "cancelled"
    assert result.debts["order:2"].state == "paid"
    assert result.balance_cents == 0


KINDS = st.sampled_from(["order", "subscription", "membership", "adjustment", "payment", "refund"])


@seed(16)
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(KINDS, st.integers(-50_000, 50_000), st.integers(1, 4)),
        max_size=25,
    ),
    st.lists(st.tuples(st.integers(0, 24), st.integers(1, 4)), max_size=10),
)
def test_what_is_left_to_pay_minus_the_credit_is_minus_the_balance(rows, links):
    ops = []
    for kind, amount, n in rows:
        if kind == "payment":
            amount = abs(amount)
        elif kind == "refund":
            amount = -abs(amount)
        elif kind != "adjustment":
            amount = -abs(amount)
        ops.append(op(kind, amount, f"order:{n}" if kind not in ("payment", "refund") else ""))
    settlements: dict[int, list[str]] = {}
    for index, n in links:
        if index < len(ops) and ops[index]["kind"] == "payment":
            settlements.setdefault(ops[index]["id"], []).append(f"order:{n}")
    result = settle(ops, settlements)
    assert result.due_cents - result.credit_cents == -result.balance_cents
    for debt in result.debts.values():
        assert 0 <= debt.paid_cents
        assert debt.left_cents >= 0
