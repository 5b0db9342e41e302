"""Messages between roles and processes (pydantic, JSON on the wire) and a typed client per API."""
