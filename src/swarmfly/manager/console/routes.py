"""The console's routes, each named ``console.…`` (the middleware serves only those). The
paths are Dragonfly's console's."""

from __future__ import annotations

from aiohttp import web

from swarmfly.manager.console import auth_views, preheat_views, token_views
from swarmfly.manager.console.rendering import see_other


async def home(_: web.Request) -> web.StreamResponse:
    return see_other(auth_views.HOME)


def add_console_routes(app: web.Application) -> None:
    router = app.router
    router.add_resource("/", name="console.home").add_route("GET", home)
    signin = router.add_resource("/signin", name="console.signin")
    signin.add_route("GET", auth_views.sign_in_page)
    signin.add_route("POST", auth_views.sign_in)
    router.add_resource("/signout", name="console.signout").add_route("POST", auth_views.sign_out)

    preheats = router.add_resource("/jobs/preheats", name="console.preheats")
    preheats.add_route("GET", preheat_views.preheats)
    preheats.add_route("POST", preheat_views.create_preheat)
    for path, name, handler in (
        ("/jobs/preheats/rows", "console.preheat_rows", preheat_views.preheat_rows),
        ("/jobs/preheats/new", "console.preheat_new", preheat_views.new_preheat),
        (r"/jobs/preheats/{id:\d+}", "console.preheat", preheat_views.preheat),
        (r"/jobs/preheats/{id:\d+}/status", "console.preheat_status", preheat_views.preheat_status),
    ):
        router.add_resource(path, name=name).add_route("GET", handler)
    router.add_resource(r"/jobs/preheats/{id:\d+}/again", name="console.preheat_again").add_route(
        "POST", preheat_views.preheat_again
    )

    tokens = router.add_resource(token_views.PATH, name="console.tokens")
    tokens.add_route("GET", token_views.tokens)
    tokens.add_route("POST", token_views.create_token)
    router.add_resource(f"{token_views.PATH}/revoke", name="console.token_revoke").add_route(
        "POST", token_views.revoke_token
    )
