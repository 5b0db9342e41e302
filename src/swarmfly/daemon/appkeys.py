"""Typed keys under which the daemon's apps hold their shared resources."""

from aiohttp import web

from swarmfly.config import DaemonConfig
from swarmfly.daemon.conductor import Conductor
from swarmfly.daemon.listings import Listings
from swarmfly.daemon.metrics import DaemonMetrics
from swarmfly.daemon.proxy.context import ProxyContext
from swarmfly.daemon.upload_limits import UploadLimits
from swarmfly.storage import PieceStore

CONFIG = web.AppKey("config", DaemonConfig)
CONDUCTOR = web.AppKey("conductor", Conductor)
STORE = web.AppKey("store", PieceStore)
METRICS = web.AppKey("metrics", DaemonMetrics)
UPLOAD_LIMITS = web.AppKey("upload_limits", UploadLimits)
LISTINGS = web.AppKey("listings", Listings)
PROXY = web.AppKey("proxy", ProxyContext)
