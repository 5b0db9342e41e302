"""Shared aiohttp plumbing for every role: error rendering, health, metrics, runners."""
