"""A minimal HTTP/1.1 client for deliveries: ``Http11Sender``, on httptools and asyncio."""

from app.delivery.http.sender import Http11Sender

__all__ = ["Http11Sender"]
