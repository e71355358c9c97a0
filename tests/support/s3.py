"""An S3-compatible server on 127.0.0.1 (moto in server mode) standing in for object storage.

Started as its own process (`python -m moto.server`), so delta-rs talks to it over real
HTTP exactly as it would to S3; stopped when the fixture ends. No network beyond loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import httpx

BUCKET = "gpu-prices-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def env(self) -> dict[str, str]:
        """The environment a writer process needs (delta-rs storage options by name)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }

    def options(self) -> dict[str, str]:
        return {**self.env(), "conditional_put": "etag"}

    def new_table_url(self) -> str:
        return f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}/gpu_prices.delta"

    def create_bucket(self, name: str = BUCKET) -> None:
        # An unsigned PUT is enough for moto; a real S3 would need the SDK's signature.
        r = httpx.put(f"{self.endpoint}/{name}")
        r.raise_for_status()


def start() -> S3Server:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(endpoint + "/", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError("moto server exited at start") from None
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto server did not start in 30 s")
    server = S3Server(endpoint, proc)
    server.create_bucket()
    return server


def stop(server: S3Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
