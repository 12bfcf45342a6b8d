"""Python handlers the inbound tests register, as an operator would."""

from app.inbound.handlers import InboundMessage

received: list[InboundMessage] = []


async def record(message: InboundMessage) -> None:
    received.append(message)


async def explode(message: InboundMessage) -> None:
    raise RuntimeError(f"cannot handle {message.event_type}")
