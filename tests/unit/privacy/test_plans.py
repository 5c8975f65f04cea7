"""Every table that names a person says what its rows become when the account is deleted,
and whether one's archive holds them: a new table cannot forget either."""

from __future__ import annotations

from piccolo.columns import ForeignKey
from piccolo.conf.apps import Finder

from domain.privacy import deletion, export
from domain.tables import User


def references_to_user() -> set[tuple[str, str]]:
    return {
        (table._meta.tablename, column._meta.db_column_name)
        for table in Finder().get_app_config("domain").table_classes
        for column in table._meta.columns
        if isinstance(column, ForeignKey) and column._foreign_key_meta.resolved_references is User
    }


def test_the_deletion_plan_names_every_reference_to_an_account():
    assert set(deletion.PLAN) == references_to_user()


def test_the_archive_or_its_exclusions_name_every_reference_to_an_account():
    covered = set(export.EXPORTED) | set(export.NOT_EXPORTED)
    assert references_to_user() <= covered
    assert not set(export.EXPORTED) & set(export.NOT_EXPORTED)
