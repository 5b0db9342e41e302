"""The Open API (``/oapi/v1``), wire-compatible with Dragonfly's: personal access tokens,
preheat jobs and clusters. The contract is ``contracts/openapi-notes.md``."""
