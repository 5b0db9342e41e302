"""Typed keys under which the console keeps its pieces on the manager's app and on requests."""

from aiohttp import web

from swarmfly.manager.console.sessions import Session, SessionCodec
from swarmfly.manager.console.throttle import SignInThrottle
from swarmfly.manager.models import User

SESSIONS = web.AppKey("console_sessions", SessionCodec)
THROTTLE = web.AppKey("console_throttle", SignInThrottle)

#: The request's session (a new, signed-out one when the cookie had none that is valid).
SESSION: web.RequestKey[Session] = web.RequestKey("console_session")
#: Set when the request must send its session back as a cookie (new, signed in, signed out).
SESSION_CHANGED: web.RequestKey[bool] = web.RequestKey("console_session_changed")
#: The signed-in user (absent for signed-out visitors).
USER: web.RequestKey[User] = web.RequestKey("console_user")
