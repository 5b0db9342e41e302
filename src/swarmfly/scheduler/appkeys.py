"""Typed keys under which the scheduler's app holds its shared resources."""

from aiohttp import ClientSession, web

from swarmfly.config import SchedulerServiceConfig
from swarmfly.scheduler.metrics import SchedulerMetrics
from swarmfly.scheduler.service import SchedulerService

CONFIG = web.AppKey("config", SchedulerServiceConfig)
METRICS = web.AppKey("metrics", SchedulerMetrics)
SESSION = web.AppKey("session", ClientSession)
SERVICE = web.AppKey("service", SchedulerService)
