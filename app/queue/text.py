"""Text that PostgreSQL will always store.

A ``text`` column refuses NUL, and the driver cannot encode a lone surrogate; either makes the
whole statement fail. Text that comes from outside (an exception message, a receiver's answer)
is made storable here before it reaches a statement.
"""


def storable_text(value: str, *, max_chars: int) -> str:
    """``value`` with NUL shown as ``\\0``, unencodable characters replaced, cut to size."""
    cleaned = value[: max_chars * 2].replace("\x00", "\\0")
    cleaned = cleaned.encode("utf-8", errors="replace").decode("utf-8")
    return cleaned[:max_chars]
