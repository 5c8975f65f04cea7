"""The producer space (espace producteur) as a table of its own, imported by core for the
foreign keys of vendors and products."""

from piccolo.columns import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Producer(Table):
    """A producer's own space (the espace producteur): its product list, which every
    catalog of its vendors may offer with one stock, and its link to Escarcelle (a
    solidarity grocery). A Vendor is the producer as one group knows it: the producer
    space's users are the accounts linked to its vendors (`Vendor.user`)."""

    name = Varchar(length=120, default="")
    created_at = Timestamptz(default=TimestamptzNow())
