"""The piece server as another peer sees it: lists, pieces with digests, and refusals."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import xxhash

from swarmfly import idgen
from tests.integration.conftest import StartDaemon, run_cli
from tests.integration.daemon.test_dfget import MIB
from tests.support.origin import Origin


async def test_pieces_are_listed_and_served_with_their_digest(
    tmp_path: Path, origin: Origin, start_daemon: StartDaemon
) -> None:
    path, _ = origin.add_file("p.bin", 10 * MIB)
    url = f"{origin.url}/p.bin"
    daemon = await start_daemon()
    addr = f"http://127.0.0.1:{daemon.port('control_port')}"
    assert (await run_cli("dfget", url, "-O", str(tmp_path / "p"), "--daemon-addr", addr))[0] == 0
    task_id = idgen.task_id(url)
    base = f"http://127.0.0.1:{daemon.port('upload_port')}"
    data = path.read_bytes()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/tasks/{task_id}/pieces") as response:
            assert response.status == 200
            listing = await response.json()
        assert listing["state"] == "succeeded"
        assert [p["length"] for p in listing["pieces"]] == [4 * MIB, 4 * MIB, 2 * MIB]
        for piece in listing["pieces"]:
            async with session.get(f"{base}/tasks/{task_id}/pieces/{piece['number']}") as response:
                body = await response.read()
                assert response.headers["X-Dragonfly-Piece-Digest"] == f"xxh3:{piece['digest']}"
            assert body == data[piece["offset"] : piece["offset"] + piece["length"]]
            assert xxhash.xxh3_64_hexdigest(body) == piece["digest"]

        headers = {"Range": "bytes=100-199"}
        async with session.get(
            f"{base}/download/{task_id[:3]}/{task_id}", headers=headers
        ) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{10 * MIB}"
            assert await response.read() == data[100:200]

        headers = {"Range": f"bytes={20 * MIB}-"}
        async with session.get(
            f"{base}/download/{task_id[:3]}/{task_id}", headers=headers
        ) as response:
            assert response.status == 416
        async with session.get(f"{base}/tasks/{task_id}/pieces/7") as response:
            assert response.status == 404
        async with session.get(f"{base}/tasks/{'e' * 64}/pieces") as response:
            assert response.status == 404
        for bad in ["..%2F..%2Fetc%2Fpasswd", "ABC", "x" * 64]:
            async with session.get(f"{base}/tasks/{bad}/pieces") as response:
                assert response.status in (400, 404)
                assert b"root:" not in await response.read()
        async with session.get(f"{base}/tasks/{task_id}/pieces/-1") as response:
            assert response.status == 400
