"""Images sent by people (a product's photo, the photo of a signed form): decoded within a
pixel budget and written again as a JPEG, so that what is kept is an image we made, of a
known size, without the sender's metadata (a phone's photo carries where it was taken).

CPU-heavy: from async code, through `cpu.run`.
"""

from __future__ import annotations

import functools
import io
import warnings

# What an image may measure once decoded (a phone's is 12 to 24 million pixels): the file's
# size says nothing of it, a PNG of one colour compresses a thousandfold.
MAX_PIXELS = 40_000_000
FORMATS = ("JPEG", "PNG", "WEBP")


class NotAnImage(Exception):
    """No decoder of ours reads the file."""


class TooManyPixels(Exception):
    """The image is larger than the budget (its size, when the header said it)."""

    def __init__(self, width: int = 0, height: int = 0):
        super().__init__(width, height)
        self.width, self.height = width, height


@functools.cache
def _pillow():
    """Pillow, imported on the first image, with its own bomb guard at our budget: above
    twice that, it refuses to open the file (DecompressionBombError); its warning above
    the budget is silenced, since `reencode` refuses those itself."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image, ImageOps


def reencode(
    data: bytes, *, longest: int, quality: int = 70, formats: tuple[str, ...] | None = None
) -> bytes:
    """A JPEG of at most `longest` pixels on its longest side, upright (EXIF orientation
    applied), without metadata; `formats`: the only ones accepted (Pillow's names), None
    for any Pillow reads. Raises NotAnImage or TooManyPixels.

    The size in pixels is read from the header before anything is decoded: a PNG of
    9000 × 9000 fits in 250 KB and would take 300 MB once decoded."""
    Image, ImageOps = _pillow()  # noqa: N806 - the modules' own names
    try:
        with Image.open(io.BytesIO(data)) as image:
            if formats is not None and image.format not in formats:
                raise NotAnImage()
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise TooManyPixels(width, height)
            # A JPEG is then decoded at 1/2 to 1/8 of its size (what `thumbnail` would ask
            # if `exif_transpose` had not decoded it first).
            image.draft(None, (longest * 2, longest * 2))
            image = ImageOps.exif_transpose(image)
            image.thumbnail((longest, longest))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    except (NotAnImage, TooManyPixels):
        raise
    except Image.DecompressionBombError as error:
        raise TooManyPixels() from error
    except Exception as error:  # noqa: BLE001 - any failure of a decoder on a sent file
        raise NotAnImage() from error
    return out.getvalue()


def too_large(what: str, error: TooManyPixels) -> str:
    """« La photo est trop grande (9000 × 9000 pixels) : 40 millions de pixels au plus. »"""
    size = f" ({error.width} × {error.height} pixels)" if error.width else ""
    return (
        f"{what} est trop grande{size} : {MAX_PIXELS // 1_000_000} millions de "
        "pixels au plus. Réduisez-la avant de l'envoyer."
    )
