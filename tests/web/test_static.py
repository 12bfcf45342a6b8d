"""The pages' assets: served compressed, with the licence of what is vendored."""

import httpx


async def test_assets_are_served_compressed(client: httpx.AsyncClient) -> None:
    for asset in ("htmx.min.js", "hookline.css"):
        plain = await client.get(f"/static/{asset}", headers={"Accept-Encoding": "identity"})
        packed = await client.get(f"/static/{asset}", headers={"Accept-Encoding": "gzip"})
        assert plain.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.content == plain.content  # httpx inflates it
        assert int(packed.headers["content-length"]) < len(plain.content) / 2


async def test_vendored_htmx_carries_its_licence(client: httpx.AsyncClient) -> None:
    licence = await client.get("/static/htmx.LICENSE.txt")
    assert licence.status_code == 200
    assert "Zero-Clause BSD" in licence.text


async def test_api_answers_are_not_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
