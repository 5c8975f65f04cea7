"""Product photos: resized beside the event loop; an image too large in pixels is refused
from its header, before anything is decoded, and a file no decoder can read is a French
message at the photo field, never a 500."""

from __future__ import annotations

import asyncio
import html
import io
import struct
import zlib
from datetime import date, timedelta

import pytest
from PIL import Image, ImageFile

from domain import catalogs, producers
from domain.catalogs import products
from domain.tables import Product
from tests.helpers import login, make_group, make_user, post_form
from tests.web.gate import Gate, healthz_while_held, loop_client

FIELDS = {"name": "Carottes", "unit": "kg", "price": "3,50", "vat_rate": "550", "active": "1"}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int, extra: bytes = b"") -> bytes:
    """A valid grey PNG of one colour, compressed row by row: 81 million pixels weigh
    about 80 KB (and 81 MB once decoded)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


async def coordinator_with_catalog(app) -> tuple:
    """A logged-in admin's browser (on the test's loop) and the new-product URL."""
    admin = await make_user("anne@example.org", "Anne")
    group = await make_group(admin, "AMAP des Prés")
    vendor = (await producers.save_vendor(group["id"], name="Ferme des Saules"))["id"]
    catalog = await catalogs.save_catalog(
        group["id"],
        group["kind"],
        name="Légumes",
        vendor_id=str(vendor),
        kind="variable",
        starts_on=date.today().isoformat(),
        ends_on=(date.today() + timedelta(days=180)).isoformat(),
        coordinator_id="",
    )
    browser = loop_client(app)
    await login(browser, "anne@example.org")
    return browser, f"/g/{group['slug']}/catalogues/{catalog['id']}/produits/nouveau"


async def upload(browser, url: str, data: bytes, name: str = "photo.png"):
    return await post_form(browser, url, FIELDS, files={"photo": (name, data, "image/png")})


def photo_error(response) -> str:
    page = html.unescape(response.text)
    start = page.index('id="e-photo">') + len('id="e-photo">')
    return page[start : page.index("<", start)]


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images Pillow decoded (every decoder goes through ImageFile.load)."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(image):
        sizes.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


async def test_a_photo_is_resized_off_the_loop(app, monkeypatch):
    browser, url = await coordinator_with_catalog(app)
    gate = Gate(products.resize_photo)
    monkeypatch.setattr(products, "resize_photo", gate)

    uploading = asyncio.create_task(upload(browser, url, small_png()))
    await gate.wait_inside(1)
    await healthz_while_held(loop_client(app), gate, holding=1)
    gate.opened.set()
    response = await asyncio.wait_for(uploading, timeout=30)
    assert response.status_code == 303
    assert (await Product.select(Product.photo_version).first())["photo_version"]


# (The app silences Pillow's warning for images it refuses itself; pytest resets filters.)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        # Over the budget (40 million pixels): refused by our check, which gives the size.
        (7000, 7000, "La photo est trop grande (7000 × 7000 pixels) : 40 millions de pixels"),
        # Over twice the budget: Pillow's own guard refuses it on opening.
        (9000, 9000, "La photo est trop grande : 40 millions de pixels au plus."),
    ],
)
async def test_an_image_huge_in_pixels_and_small_in_bytes_is_refused_undecoded(
    app, decoded, width, height, message
):
    browser, url = await coordinator_with_catalog(app)
    data = blank_png(width, height)
    assert len(data) < 300_000

    refused = await upload(browser, url, data)
    assert refused.status_code == 422
    assert photo_error(refused).startswith(message)
    assert decoded == []
    assert await Product.count() == 0

    # The spy sees decoding: an ordinary photo is decoded (at its size or less).
    accepted = await upload(browser, url, small_png())
    assert accepted.status_code == 303
    assert decoded and all(w * h <= 800 * 600 for w, h in decoded)
    assert await Product.count() == 1


async def test_a_file_no_decoder_reads_is_a_french_message_not_a_500(app):
    browser, url = await coordinator_with_catalog(app)
    # A PNG whose EXIF chunk is not TIFF data: Pillow raises SyntaxError, not OSError.
    bad_exif = blank_png(40, 40, extra=_chunk(b"eXIf", b"\x00\x01pas du TIFF"))
    truncated = small_png()[:400]

    for data in (bad_exif, truncated, b"\x89PNG\r\n\x1a\n"):
        response = await upload(browser, url, data)
        assert response.status_code == 422, data[:20]
        assert photo_error(response) == "Ce fichier n'est pas une image (JPEG, PNG, WebP)."
    assert await Product.count() == 0
