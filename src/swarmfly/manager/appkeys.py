"""Typed keys under which the manager's app holds its shared resources."""

from aiohttp import web

from swarmfly.config import ManagerServiceConfig
from swarmfly.manager.arrivals import WorkArrivals
from swarmfly.manager.clock import Clock
from swarmfly.manager.clusters import ClusterStore
from swarmfly.manager.database import Database
from swarmfly.manager.jobs import JobStore
from swarmfly.manager.metrics import ManagerMetrics
from swarmfly.manager.queue import JobQueue
from swarmfly.manager.schedulers import SchedulerRegistry
from swarmfly.manager.submit import JobSubmitter
from swarmfly.manager.tokens import TokenStore
from swarmfly.manager.users import UserStore

CONFIG = web.AppKey("config", ManagerServiceConfig)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
METRICS = web.AppKey("metrics", ManagerMetrics)
DATABASE = web.AppKey("database", Database)
TOKENS = web.AppKey("tokens", TokenStore)
CLUSTERS = web.AppKey("clusters", ClusterStore)
SCHEDULERS = web.AppKey("schedulers", SchedulerRegistry)
JOBS = web.AppKey("jobs", JobStore)
QUEUE = web.AppKey("queue", JobQueue)
ARRIVALS = web.AppKey("arrivals", WorkArrivals)
SUBMITTER = web.AppKey("submitter", JobSubmitter)
USERS = web.AppKey("users", UserStore)
