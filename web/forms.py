"""How handlers receive forms: `data: Annotated[MyForm, Form]` (or `Multipart` for files).

msgspec Structs with string fields: every value is checked by `domain/` (the kernel's
`forms` reads numbers and ids the same way everywhere), so a bad value is a French message
at its field, never a framework's refusal.
"""

from __future__ import annotations

from litestar.enums import RequestEncodingType
from litestar.params import Body

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)
