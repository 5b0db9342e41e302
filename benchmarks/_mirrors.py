"""A real registry with a pushed blob, and nginx as a caching mirror, for the proxy benchmark.

The registry is Debian's ``docker-registry`` (the CNCF distribution registry) on a free
loopback port with its own storage directory. Blobs go in through its HTTP API (a POST that
opens an upload, then one monolithic PUT streamed from the file), the manifest by a PUT, as
any pusher would. nginx gets a ``proxy_cache`` configuration (the common home-made mirror).
"""

from __future__ import annotations

import hashlib
import http.client
import json
from pathlib import Path

import yaml

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def registry_config(root: Path, port: int) -> Path:
    config = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "storage")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    path = root / "registry.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(16 << 20):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def push_blob(port: int, repository: str, path: Path) -> str:
    """Upload ``path`` as a blob (POST, then one streamed PUT); returns its digest."""
    digest = sha256_file(path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("POST", f"/v2/{repository}/blobs/uploads/")
    answer = conn.getresponse()
    answer.read()
    if answer.status != 202:
        raise RuntimeError(f"upload refused: {answer.status}")
    location = answer.getheader("Location") or ""
    target = location.split(f"127.0.0.1:{port}", 1)[-1]
    separator = "&" if "?" in target else "?"
    size = path.stat().st_size
    conn.putrequest("PUT", f"{target}{separator}digest={digest.replace(':', '%3A')}")
    conn.putheader("Content-Length", str(size))
    conn.putheader("Content-Type", "application/octet-stream")
    conn.endheaders()
    with open(path, "rb") as file:
        while chunk := file.read(4 << 20):
            conn.send(chunk)
    answer = conn.getresponse()
    answer.read()
    conn.close()
    if answer.status != 201:
        raise RuntimeError(f"blob PUT failed: {answer.status}")
    return digest


def push_manifest(port: int, repository: str, tag: str, config: Path, layer: Path) -> bytes:
    """An OCI manifest for one config and one layer, pushed under ``tag``; returns its body."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, config),
        "layers": [_descriptor(OCI_LAYER, layer)],
    }
    body = json.dumps(manifest).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("PUT", f"/v2/{repository}/manifests/{tag}", body, {"Content-Type": OCI_MANIFEST})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    if answer.status != 201:
        raise RuntimeError(f"manifest PUT failed: {answer.status}")
    return body


def _descriptor(media_type: str, path: Path) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha256_file(path), "size": path.stat().st_size}


NGINX_CONF = """
user root;
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {root}/client_body;
  proxy_temp_path {root}/proxy_temp;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  proxy_cache_path {root}/cache levels=1:2 keys_zone=blobs:10m max_size=4g inactive=1h
                   use_temp_path=off;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Host 127.0.0.1:{upstream};
      proxy_cache blobs;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }}
  }}
}}
"""


def nginx_config(root: Path, port: int, upstream: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "nginx.conf"
    path.write_text(NGINX_CONF.format(root=root, port=port, upstream=upstream))
    return path
