"""A receiver that verifies nothing and counts: run as its own process by the benchmarks.

    python -m bench.receiver PORT

`POST /anything` answers 200 at once and notes the first arrival of each `webhook-id` at each
path, as `"<webhook-id> <path>"` (one endpoint a path); `GET /stats` returns the count and those
arrival times (unix seconds).
"""

import sys
import time

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


def main() -> None:
    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/{tail:.*}", receive)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
