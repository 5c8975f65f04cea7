"""CATALOGUES: the group's catalogs and the catalog menu after « Gérer ».

Admins create and edit catalogs; a catalog's coordinator manages its products (inline
editing, CSV import and export), its distributions and documents; its producer reads its
pages. Member side: downloading a document the member may see.
"""

from web.catalogs import catalogs, deliveries, documents, product_files, products, statistics

handlers = [
    *catalogs.handlers,
    *products.handlers,
    *product_files.handlers,
    *deliveries.handlers,
    *documents.handlers,
    *statistics.handlers,
]
