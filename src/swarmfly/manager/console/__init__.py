"""The console: a web UI for preheating, served by the manager at ``/``.

Server-rendered HTML (Jinja2, autoescaped) with htmx (vendored in ``static/``) refreshing the
parts that change while a job is pending. No build step, no CDN.

    app.py            setup_console(app): templates, static files, routes, middleware, keys
    routes.py         the paths (Dragonfly's console's) and their handlers
    middleware.py     session cookie, CSRF check, sign-in redirect, HTML errors, headers
    sessions.py       signed session cookies (HMAC) and their CSRF tokens
    secret.py         the signing key in <dataDir>/console-secret (0600)
    csrf.py           where a POST's token comes from, and the refusal
    throttle.py       failed sign-ins per username and address, with growing lockouts
    auth_views.py     sign in, sign out
    preheat_views.py  list, new, a job's page, preheat again
    token_views.py    personal access tokens: list, create (shown once), revoke
    forms.py          the preheat form <-> an Open API body, and where each problem goes
    display.py        what a job looks like to people (states, sizes, errors in plain words)
    rendering.py      templates with the common context, redirects, error pages
"""

from swarmfly.manager.console.app import setup_console

__all__ = ["setup_console"]
