"""The console's defences, with a plain HTTP client: every POST needs its session's CSRF token
(403 without, or with another session's), the session cookie's flags, pages without a session
go to the sign-in form (htmx fragments get ``HX-Redirect``), forged, expired and signed-out
cookies are worth nothing, sign-ins are throttled, ``next`` never leaves the site, user text is
escaped, and every page carries the security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from http.cookies import SimpleCookie

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from swarmfly.manager.console.rendering import SECURITY_HEADERS
from swarmfly.manager.console.sessions import COOKIE_NAME
from tests.console.conftest import Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest_asyncio.fixture(loop_scope="session")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe: keep cookies for an IP address (127.0.0.1)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session


async def csrf_of(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(url) as response:
        match = _CSRF.search(await response.text())
    assert match, f"no CSRF token on {url}"
    return match.group(1)


async def sign_in(
    client: aiohttp.ClientSession, console: Console, password: str | None = None
) -> aiohttp.ClientResponse:
    token = await csrf_of(client, f"{console.url}/signin")
    form = {"csrf_token": token, "username": "root", "password": password or console.root_password}
    async with client.post(f"{console.url}/signin", data=form, allow_redirects=False) as response:
        await response.read()
        return response


async def test_posts_without_the_csrf_token_are_refused(
    client: aiohttp.ClientSession, console: Console
) -> None:
    async with client.post(
        f"{console.url}/signin", data={"username": "root", "password": console.root_password}
    ) as response:
        assert response.status == 403
        assert "expired or did not come from this console" in await response.text()
    assert (await sign_in(client, console)).status == 303
    for path, form in (
        ("/jobs/preheats", {"type": "file", "url": "https://files.test/a"}),
        ("/developer/personal-access-tokens", {"name": "t", "scopes": "job", "days": "30"}),
        ("/developer/personal-access-tokens/revoke", {"name": "t"}),
        ("/jobs/preheats/1/again", {}),
        ("/signout", {}),
    ):
        for token in (None, "forged", (await csrf_of(client, f"{console.url}/signin?x"))[:-2]):
            data = dict(form, csrf_token=token) if token else form
            async with client.post(console.url + path, data=data) as response:
                assert response.status == 403, (path, token)
    async with client.get(f"{console.url}/jobs/preheats", allow_redirects=False) as response:
        assert response.status == 200  # still signed in: the refused sign-out did nothing


async def test_a_token_of_another_session_is_refused(console: Console) -> None:
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as alice,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as mallory,
    ):
        await sign_in(alice, console)
        foreign = await csrf_of(mallory, f"{console.url}/signin")
        data = {"csrf_token": foreign, "name": "stolen", "scopes": "job", "days": "30"}
        async with alice.post(f"{console.url}/developer/personal-access-tokens", data=data) as r:
            assert r.status == 403


async def test_session_cookie_flags(client: aiohttp.ClientSession, console: Console) -> None:
    response = await sign_in(client, console)
    assert response.status == 303
    assert response.headers["Location"] == "/jobs/preheats"
    [header] = [h for h in response.headers.getall("Set-Cookie") if h.startswith(COOKIE_NAME)]
    morsel = SimpleCookie(header)[COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == int(timedelta(hours=12).total_seconds())
    assert not morsel["secure"]  # plain http here; console.secureCookie turns it on
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", morsel.value)


async def test_without_a_session_pages_go_to_sign_in(
    client: aiohttp.ClientSession, console: Console
) -> None:
    job_id = await console.make_job()
    for path in ("/jobs/preheats?state=pending", f"/jobs/preheats/{job_id}", "/jobs/preheats/new"):
        async with client.get(console.url + path, allow_redirects=False) as response:
            assert response.status == 303
            location = response.headers["Location"]
            assert location.startswith("/signin?next=")
    async with client.get(f"{console.url}/jobs/preheats/{job_id}", allow_redirects=True) as r:
        assert r.url.path == "/signin" and r.url.query["next"] == f"/jobs/preheats/{job_id}"
    headers = {"HX-Request": "true"}
    async with client.get(
        f"{console.url}/jobs/preheats/rows", headers=headers, allow_redirects=False
    ) as response:
        assert response.status == 401
        assert response.headers["HX-Redirect"].startswith("/signin")
        assert await response.text() == ""
    async with client.get(f"{console.url}/oapi/v1/jobs") as response:
        assert response.status == 401  # the Open API keeps its own tokens, not the console's


async def test_forged_expired_and_signed_out_sessions_are_refused(
    client: aiohttp.ClientSession, console: Console
) -> None:
    await sign_in(client, console)
    cookie = client.cookie_jar.filter_cookies(URL(console.url))[COOKIE_NAME].value
    payload, mac = cookie.split(".")

    async def status_with(value: str) -> int:
        async with (
            aiohttp.ClientSession() as other,
            other.get(
                f"{console.url}/jobs/preheats",
                headers={"Cookie": f"{COOKIE_NAME}={value}"},
                allow_redirects=False,
            ) as response,
        ):
            return response.status

    assert await status_with(cookie) == 200
    assert await status_with(f"{payload}.{mac[:-2]}AA") == 303
    assert await status_with(f"{payload[:-2]}{mac[:2]}.{mac}") == 303
    assert await status_with("garbage") == 303
    console.clock.advance(timedelta(hours=12).total_seconds() + 1)
    assert await status_with(cookie) == 303  # expired
    console.clock.advance(-timedelta(hours=12).total_seconds() - 1)
    assert await status_with(cookie) == 200

    token = await csrf_of(client, f"{console.url}/jobs/preheats")
    async with client.post(f"{console.url}/signout", data={"csrf_token": token}) as response:
        assert response.url.path == "/signin"
    assert await status_with(cookie) == 303  # a copy of the old cookie is worth nothing


async def test_sign_ins_are_throttled(client: aiohttp.ClientSession, console: Console) -> None:
    for _ in range(5):
        assert (await sign_in(client, console, "wrong")).status == 401
    locked = await sign_in(client, console)  # the right password, but too soon
    assert locked.status == 429
    console.clock.advance(29)
    assert (await sign_in(client, console)).status == 429
    console.clock.advance(2)
    assert (await sign_in(client, console)).status == 303


async def test_next_never_leaves_the_site(client: aiohttp.ClientSession, console: Console) -> None:
    await sign_in(client, console)
    for target in ("//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)"):
        async with client.get(
            f"{console.url}/signin", params={"next": target}, allow_redirects=False
        ) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/jobs/preheats", target


async def test_user_text_is_escaped(client: aiohttp.ClientSession, console: Console) -> None:
    evil = '<script>alert("bio")</script><img src=x onerror=alert(1)>'
    job_id = await console.make_job(evil, url="https://files.test/<b>x</b>")
    await sign_in(client, console)
    for path in ("/jobs/preheats", "/jobs/preheats/rows", f"/jobs/preheats/{job_id}"):
        async with client.get(console.url + path) as response:
            page = await response.text()
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(&#34;bio&#34;)&lt;/script&gt;" in page, path
        assert "<b>x</b>" not in page, path


async def test_every_console_page_carries_the_security_headers(
    client: aiohttp.ClientSession, console: Console
) -> None:
    await sign_in(client, console)
    for path in ("/signin", "/jobs/preheats", "/jobs/preheats/new", "/jobs/preheats/999"):
        async with client.get(console.url + path) as response:
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
            assert response.content_type == "text/html"
    async with client.get(f"{console.url}/jobs/preheats/999") as response:
        assert response.status == 404
        assert "job 999 not found" in await response.text()
