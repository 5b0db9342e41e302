"""The peer daemon (``dfdaemon``): piece store, piece server, control API and the conductor."""
