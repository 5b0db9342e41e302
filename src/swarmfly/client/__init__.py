"""Client programs that use the daemon: ``dfget``."""
