"""safe_text turns anything a receiver sends into text PostgreSQL stores, within its cap."""

import random

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.text import safe_text

_RANDOM = random.Random(10)
#: Byte strings a receiver might send: random bytes, every byte value, and UTF-8 cut anywhere.
HOSTILE_BYTES = [
    b"",
    b"ok\x00",
    bytes(range(256)) * 64,
    "é日本😀".encode() * 500,
    *(_RANDOM.randbytes(_RANDOM.randint(1, 600)) for _ in range(300)),
]
#: Strings as aiohttp hands over header values and exception texts.
HOSTILE_STRINGS = [
    "",
    "/\udcff\udcfe",  # header bytes 0xff 0xfe, surrogate-escaped
    "\ud800 lone high, lone low \udfff",
    "nul \x00 inside",
    "a" * 1024 * 1024,
    *(b.decode("utf-8", errors="surrogateescape") for b in HOSTILE_BYTES),
]


def _storable(value: str, limit: int) -> None:
    assert "\x00" not in value
    assert len(value.encode()) <= limit  # encodes at all: no lone surrogate


@pytest.mark.parametrize("raw", HOSTILE_BYTES + HOSTILE_STRINGS)
@pytest.mark.parametrize("limit", [0, 1, 2, 3, 100, 4096])
def test_the_result_has_no_nul_no_surrogate_and_fits_the_cap(raw: bytes | str, limit: int) -> None:
    _storable(safe_text(raw, limit), limit)


def test_nul_and_invalid_bytes_become_replacement_characters() -> None:
    assert safe_text(b"ok\x00", 4096) == "ok\ufffd"
    assert safe_text(b"\xff\xfeok", 4096) == "\ufffd\ufffdok"
    assert safe_text("/\udcff\udcfe", 4096) == "/\ufffd\ufffd"  # as the same bytes in a body


def test_utf8_is_kept_and_cut_on_a_character_boundary() -> None:
    assert safe_text("é日本😀", 4096) == "é日本😀"
    assert safe_text("é" * 3000, 4095) == "é" * 2047  # 4094 bytes: half an é is not kept
    assert safe_text(b"\xff" * 4096, 4096) == "\ufffd" * 1365  # each replacement is 3 bytes


def test_decoding_with_replacement_never_yields_a_surrogate() -> None:
    """The encoded forms of U+D800..U+DFFF (ED A0 80 .. ED BF BF) are not UTF-8."""
    for second in range(0xA0, 0xC0):
        for third in range(0x80, 0xC0):
            decoded = bytes([0xED, second, third]).decode("utf-8", errors="replace")
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in decoded)


async def test_postgresql_stores_every_result(engine: AsyncEngine) -> None:
    values = [safe_text(raw, 4096) for raw in HOSTILE_BYTES + HOSTILE_STRINGS]
    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT CAST(:v AS text[])"), {"v": values})
    assert stored == values
