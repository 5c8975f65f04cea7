"""Moved groups: which host serves a group, what the other hosts answer, the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.instances import (
    Answer,
    Move,
    migrated_report,
    migration_of,
    move_of,
    moved_report,
    serving_instance,
)
from domain.kernel import clock
from domain.settings import Instance

MIGRATED = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 29 March 00:00, Paris
UNTIL = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # 1 July 00:00, Paris
BEFORE, DURING, AFTER = MIGRATED - timedelta(days=1), MIGRATED + timedelta(days=1), UNTIL
INSTANCES = [
    Instance(key="main", name="Circuit Court", hosts=["localhost"], url="http://localhost"),
    Instance(key="amap", name="Camap", hosts=["amap.localhost"], url="http://amap.localhost"),
]


def group(**extra) -> dict:
    return {
        "id": 7,
        "slug": "amap-des-lilas",
        "name": "AMAP des Lilas",
        "instance": "amap",
        "previous_instance": "main",
        "migrated_at": MIGRATED,
        "redirect_until": UNTIL,
    } | extra


def move(**extra) -> Move:
    found = move_of(group(**extra))
    assert found is not None
    return found


def test_move_of_reads_the_four_columns():
    assert move() == Move(
        group_id=7,
        slug="amap-des-lilas",
        name="AMAP des Lilas",
        instance="amap",
        previous_instance="main",
        migrated_at=MIGRATED,
        redirect_until=UNTIL,
    )


@pytest.mark.parametrize(
    "extra",
    [{"migrated_at": None}, {"previous_instance": ""}, {"previous_instance": "amap"}],
)
def test_move_of_a_group_that_did_not_move(extra):
    assert move_of(group(**extra)) is None


def test_before_the_move_date_the_old_instance_serves():
    m = move()
    assert m.serving(BEFORE) == "main"
    assert m.answer("main", BEFORE) is Answer.SERVE
    assert m.answer("amap", BEFORE) is Answer.BACK


def test_from_the_move_date_the_old_hosts_redirect():
    m = move()
    for moment in (MIGRATED, DURING, UNTIL - timedelta(seconds=1)):
        assert m.serving(moment) == "amap"
        assert m.answer("amap", moment) is Answer.SERVE
        assert m.answer("main", moment) is Answer.REDIRECT


def test_after_the_redirection_the_old_hosts_say_where_it_went():
    m = move()
    assert m.answer("main", AFTER) is Answer.GONE
    assert m.answer("main", AFTER + timedelta(days=400)) is Answer.GONE
    assert m.answer("amap", AFTER) is Answer.SERVE


def test_a_third_instance_always_serves_its_own_404():
    m = move()
    for moment in (BEFORE, DURING, AFTER):
        assert m.answer("marche", moment) is Answer.SERVE


def test_a_redirection_without_end_date_never_ends():
    m = move(redirect_until=None)
    assert m.answer("main", MIGRATED + timedelta(days=3650)) is Answer.REDIRECT
    assert m.answer("amap", BEFORE) is Answer.BACK


def test_serving_instance_follows_the_move_date():
    assert serving_instance(group(), BEFORE) == "main"
    assert serving_instance(group(), MIGRATED) == "amap"
    assert serving_instance(group(), AFTER) == "amap"
    assert serving_instance(group(redirect_until=None), DURING) == "amap"


def test_serving_instance_of_a_group_that_never_moved():
    assert serving_instance(group(migrated_at=None), BEFORE) == "amap"
    assert serving_instance(group(previous_instance=""), BEFORE) == "amap"
    assert serving_instance(group(previous_instance="amap"), BEFORE) == "amap"
    assert serving_instance({"instance": "main"}, BEFORE) == "main"


def test_serving_instance_asks_the_clock_without_a_moment():
    with clock.frozen(BEFORE):
        assert serving_instance(group()) == "main"
    with clock.frozen(DURING):
        assert serving_instance(group()) == "amap"


def test_moved_report_names_instances_and_dates_in_paris_time():
    done = [
        {
            "slug": "amap-des-lilas",
            "name": "AMAP des Lilas",
            "kind": "amap",
            "from": "main",
            "to": "amap",
            "migrated_at": MIGRATED,
            "redirect_until": UNTIL,
            "action": "déplacé",
            "id": 7,
        }
    ]
    line = (
        "AMAP des Lilas (amap-des-lilas, AMAP) : Circuit Court → Camap, déplacé ; migré le "
        "29/03/2026 00:00, redirection jusqu'au 01/07/2026 00:00 (heure de Paris)"
    )
    assert moved_report(done, INSTANCES, dry_run=False) == line + "\n1 groupe traité."
    assert moved_report(done, INSTANCES, dry_run=True).endswith(
        "1 groupe serait concerné (--dry-run : rien n'est changé)."
    )
    assert moved_report([], INSTANCES, dry_run=False) == "Aucun groupe à déplacer."


def test_moved_report_keeps_unknown_keys_as_they_are():
    row = {
        "slug": "m",
        "name": "M",
        "kind": "bazar",
        "from": "ailleurs",
        "to": "amap",
        "migrated_at": MIGRATED,
        "redirect_until": UNTIL,
        "action": "dates mises à jour",
    }
    assert moved_report([row], INSTANCES, dry_run=False).startswith(
        "M (m, bazar) : ailleurs → Camap, dates mises à jour ;"
    )


def test_migrated_report_states_and_counts():
    moved = group(days=[(date(2026, 3, 29), 12), (date(2026, 3, 30), 3)], total=15)
    assert migrated_report([moved], INSTANCES, DURING) == (
        "AMAP des Lilas (amap-des-lilas) : Circuit Court → Camap\n"
        "  migré le 29/03/2026 00:00, redirection jusqu'au 01/07/2026 00:00 : en cours\n"
        "  redirections servies : 15\n"
        "    2026-03-29 : 12\n"
        "    2026-03-30 : 3"
    )
    assert migrated_report([moved], INSTANCES, BEFORE).splitlines()[1].endswith(": à venir")
    assert migrated_report([moved], INSTANCES, AFTER).splitlines()[1].endswith(": terminée")
    endless = group(redirect_until=None, days=[], total=0)
    lines = migrated_report([endless], INSTANCES, AFTER).splitlines()
    assert lines[1] == "  migré le 29/03/2026 00:00, redirection jusqu'au (sans fin) : en cours"
    assert lines[2:] == ["  redirections servies : 0"]
    assert migrated_report([], INSTANCES, DURING) == "Aucun groupe déplacé."


def test_migration_of_for_the_settings_page():
    assert migration_of(group(), INSTANCES, DURING) == {
        "previous": "Circuit Court",
        "instance": "Camap",
        "migrated_at": "29 mars 2026 à 00:00",
        "redirect_until": "1 juillet 2026 à 00:00",
        "state": "en cours",
    }
    assert migration_of(group(), INSTANCES, BEFORE)["state"] == "à venir"
    assert migration_of(group(), INSTANCES, AFTER)["state"] == "terminée"
    assert migration_of(group(redirect_until=None), INSTANCES, AFTER)["redirect_until"] == ""
    assert migration_of(group(migrated_at=None), INSTANCES, DURING) is None
