"""A receiver that verifies nothing and counts: run as its own process by the benchmarks.

    python -m bench.receiver PORT [TLS_PORT TLS_DIR]

`POST /anything` answers 200 at once and notes the first arrival of each `webhook-id` at each
path, as `"<webhook-id> <path>"` (one endpoint a path); `GET /stats` returns the count and those
arrival times (unix seconds). With ``TLS_PORT`` and ``TLS_DIR`` (holding ``cert.pem``,
``key.pem`` and ``ca.pem``) it serves HTTPS on ``TLS_PORT`` too, requiring a client certificate
issued by ``ca.pem`` (mTLS).
"""

import asyncio
import ssl
import sys
import time
from pathlib import Path

from aiohttp import web

arrivals: dict[str, float] = {}
count = 0


async def receive(request: web.Request) -> web.Response:
    global count
    count += 1
    await request.read()
    message = request.headers.get("webhook-id")
    delivery = f"{message} {request.path}"
    if message is not None and delivery not in arrivals:
        arrivals[delivery] = time.time()
    return web.Response(text="ok")


async def stats(request: web.Request) -> web.Response:
    full = request.query.get("arrivals") == "1"
    return web.json_response({"count": count, "arrivals": arrivals if full else {}})


def _mtls(folder: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.load_verify_locations(folder / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve(port: int, tls: tuple[int, Path] | None) -> None:
    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    if tls is not None:  # first: the plain site answering /stats says both are up
        await web.TCPSite(runner, "127.0.0.1", tls[0], ssl_context=_mtls(tls[1])).start()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()  # until the benchmark stops the process


def main() -> None:
    tls = (int(sys.argv[2]), Path(sys.argv[3])) if len(sys.argv) > 3 else None
    asyncio.run(serve(int(sys.argv[1]), tls))


if __name__ == "__main__":
    main()
