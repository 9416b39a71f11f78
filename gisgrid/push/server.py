"""`python -m gisgrid.push.server --uds PATH [--workers N]`: the push service under uvicorn.

`./run serve` starts it beside gunicorn; nginx routes `/api/v1/events` to its socket. uvloop
and httptools (uvicorn[standard]) carry the many idle connections cheaply. Streams never end by
themselves, so a stop waits at most `--graceful` seconds for them before closing them.
"""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="gisgrid push service (Server-Sent Events)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--uds", help="unix socket to listen on")
    where.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (development)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--graceful", type=float, default=2.0)
    args = p.parse_args(argv)
    uvicorn.run("gisgrid.push.asgi:application", uds=args.uds, port=args.port or 8000, host="127.0.0.1",
                workers=args.workers, loop="uvloop", http="httptools", lifespan="on", access_log=False,
                timeout_graceful_shutdown=args.graceful, backlog=4096, log_level="info")


if __name__ == "__main__":
    main()
