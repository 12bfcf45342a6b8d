"""A captured HTTP/1.1 request (what ``nc -l`` or a proxy saved), split into its headers and
exact body, so ``hookline verify`` checks the bytes the receiver got."""

from dataclasses import dataclass


class MalformedRequest(ValueError):
    """The input is not an HTTP request; the message says where it goes wrong."""


@dataclass(frozen=True)
class RawRequest:
    request_line: str
    headers: dict[str, str]  #: names lower-cased; a repeated header keeps its last value
    body: bytes


def parse(data: bytes) -> RawRequest:
    """Accepts CRLF or bare LF line ends (a request pasted into an editor). With a
    ``Content-Length`` the body is that many bytes (a trailing newline an editor added is
    dropped); without one, everything after the blank line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = data.partition(separator)
        if found:
            break
    else:
        raise MalformedRequest("no blank line ends the headers")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    request_line, header_lines = lines[0].strip(), lines[1:]
    if len(request_line.split(" ")) != 3 or not request_line.split(" ")[2].startswith("HTTP/"):
        raise MalformedRequest(f"the first line is not a request line: {request_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MalformedRequest(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise MalformedRequest("Content-Length is not a number") from exc
        if len(body) < length:
            raise MalformedRequest(f"the body has {len(body)} bytes, Content-Length says {length}")
        body = body[:length]
    return RawRequest(request_line=request_line, headers=headers, body=body)
