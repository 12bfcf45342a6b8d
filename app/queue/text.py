"""Text from outside, made safe to store.

Text that someone else controls — a job's error message, a remote peer's answer, the text of the
exceptions its bytes cause — ends up in ``text`` columns. PostgreSQL refuses two things there:
the NUL character, and anything that is not UTF-8. A Python ``str`` fails the second way when it
holds lone surrogates, which is how aiohttp hands over header bytes that are not UTF-8 (it
decodes them with ``surrogateescape``: byte 0xff arrives as ``"\\udcff"``). Decoding bytes with
``errors="replace"`` never yields a surrogate: Python's UTF-8 decoder refuses the encoded forms
(``ED A0 80`` and the like) and replaces them. One refused value fails the whole statement it is
written in, so every such value passes through :func:`safe_text`, and only it.
"""

REPLACEMENT = "\ufffd"
#: Longest error message kept (UTF-8 bytes): an error is a diagnosis, not a copy of the input.
ERROR_BYTES = 1024


def safe_text(raw: bytes | str, limit: int) -> str:
    """``raw`` as text PostgreSQL stores, at most ``limit`` bytes of it in UTF-8.

    What is not UTF-8 (invalid bytes, lone surrogates) and NUL become U+FFFD. The input is cut to
    ``limit`` before decoding, so a huge value costs nothing, and the result again after, on a
    character boundary, because each replacement character takes three bytes.
    """
    data = raw if isinstance(raw, bytes) else _utf8(raw[:limit])  # a character is >= 1 byte
    text = data[:limit].decode("utf-8", errors="replace").replace("\x00", REPLACEMENT)
    return text.encode()[:limit].decode("utf-8", errors="ignore")


def _utf8(text: str) -> bytes:
    """The bytes behind ``text``; lone surrogates stay invalid, to be replaced when decoded.

    aiohttp's surrogate-escaped header bytes are restored as they were sent (one replacement
    character each, as in a body); any other lone surrogate is kept as its encoded form.
    """
    try:
        return text.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass")
