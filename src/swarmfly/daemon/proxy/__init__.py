"""The daemon's proxy port (4001): a registry mirror for containerd, and an HTTP forward proxy.

The map, top down:

- :mod:`.listener` meets each connection: ``CONNECT`` becomes a tunnel (:mod:`.tunnel`), any
  other request goes to aiohttp and the one handler in :mod:`.dispatch`.
- :mod:`.routing` decides, with no I/O, where a request goes (mirror or forward mode, the
  upstream, the rule) and whether the piece store serves it; it builds the task request.
- :mod:`.blobs` is the store path (single-flight downloads, ranges, HEAD from the store,
  fallback on a full disk), guarded by :mod:`.access` (no leaks between tenants).
- :mod:`.passthrough` relays everything else, streamed, through :mod:`.upstream`'s pool;
  :mod:`.headers` says which headers cross, as pairs.
"""
