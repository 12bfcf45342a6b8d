"""The sender turns whatever happens during an attempt into a result; it never raises."""

import ipaddress
from datetime import timedelta

from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.sender import Outbound
from app.endpoints.ssrf import TargetGuard
from tests.delivery.receiver import Receiver


async def test_an_exception_the_client_raises_is_a_result(receiver: Receiver) -> None:
    sender = AiohttpSender(
        TargetGuard([ipaddress.ip_network("127.0.0.0/8")]),
        connect_timeout=timedelta(seconds=5),
        total_timeout=timedelta(seconds=5),
        body_limit=4096,
    )
    # aiohttp refuses to send a header with a control character: a ValueError, not a ClientError
    request = Outbound(url=receiver.script("/any"), headers={"X-Odd": "a\nb"}, body=b"{}")
    try:
        result = await sender.send(request)
    finally:
        await sender.close()

    assert result.error_class == "network"
    assert result.error is not None
    assert result.error.startswith("ValueError: ")
    assert receiver.at("/any") == []
