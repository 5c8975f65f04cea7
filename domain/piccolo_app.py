import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="domain",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "migrations"),
    table_classes=table_finder(
        modules=[
            "domain.tables.core",
            "domain.tables.days",
            "domain.tables.ledger",
            "domain.tables.producer",
            "domain.tables.links",
            "domain.tables.contracts",
        ],
        exclude_imported=True,
    ),
    migration_dependencies=[],
    commands=[],
)
