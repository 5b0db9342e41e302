"""Swarmfly: peer-to-peer distribution of container images and large files."""

__version__ = "0.1.0"
