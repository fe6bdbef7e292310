"""`backdrop serve`: the REST API (app/service) on uvicorn, on loopback unless told
otherwise; any other address needs an API key. SIGINT and SIGTERM stop it cleanly: no new
requests, those in progress answered (within uvicorn's grace), the workers ended; the exit
status is then 130 or 143, as for the other commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.common import add_number
from app.commands.signals import Stopped, signum_of
from app.engine.core.errors import SettingsError
from app.service.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_MAX_PIXELS,
    DEFAULT_PORT,
    DEFAULT_QUEUE,
    DEFAULT_TIMEOUT_S,
    ServiceConfig,
    is_loopback,
    read_api_key,
)

GRACE_S = 10  # for the requests in progress when a stop signal comes
SPARE_CONNECTIONS = 64  # beyond the queue: probes, metrics, answers of 503


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the REST API (remove.bg-compatible) for cut-outs")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default %(default)s: this machine only; any other needs --api-key-file)")
    add_number(p, "--port", kind=int, low=0, high=65535, default=DEFAULT_PORT, help="TCP port")
    add_number(p, "--workers", kind=int, low=1, high=64, default=1,
               help="worker processes, each with its own models and an equal share of the cores")
    p.add_argument("--api-key-file", type=Path, metavar="FILE",
                   help="require header X-Api-Key equal to the first line of FILE (at least 16 characters)")
    add_number(p, "--max-body-mb", low=0.0, high=1024.0, low_open=True, default=DEFAULT_MAX_BODY_MB,
               help="largest request body, MB (413 beyond)")
    add_number(p, "--max-pixels", kind=int, low=1, high=1_000_000_000, default=DEFAULT_MAX_PIXELS,
               help="largest image, pixels, read from its header before decoding (413 beyond)")
    add_number(p, "--timeout-s", low=0.0, high=3600.0, low_open=True, default=DEFAULT_TIMEOUT_S,
               help="longest time per request, seconds (504 beyond; its worker is replaced)")
    add_number(p, "--queue", kind=int, low=1, high=10000, default=DEFAULT_QUEUE,
               help="requests admitted at a time, waiting plus being worked on (503 with Retry-After beyond)")
    p.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                   help="count workers as ready at once; each loads its models on its first request")
    p.set_defaults(run=run)


def config_from(args: argparse.Namespace) -> ServiceConfig:
    """The ServiceConfig of the options; SettingsError (exit 2) for a non-loopback address
    without a key."""
    if not is_loopback(args.host) and args.api_key_file is None:
        raise SettingsError(f"--host {args.host} is reachable from other machines: pass --api-key-file FILE "
                            "(clients then send its key as X-Api-Key), or serve on 127.0.0.1")
    key = read_api_key(args.api_key_file) if args.api_key_file is not None else None
    return ServiceConfig(args.workers, key, int(args.max_body_mb * 1024 * 1024), args.max_pixels, args.timeout_s,
                         args.queue, args.warm_up)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    import uvicorn  # the server: only for this command

    from app.service.app import create_app

    server = uvicorn.Server(uvicorn.Config(
        create_app(config), host=args.host, port=args.port, log_level="warning", access_log=False,
        limit_concurrency=config.queue + SPARE_CONNECTIONS, timeout_graceful_shutdown=GRACE_S))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"backdrop: serving on http://{shown}:{args.port} ({config.workers} worker"
          f"{'s' if config.workers > 1 else ''}, {'API key required' if config.api_key else 'no API key'}; "
          "docs at /docs)", file=sys.stderr, flush=True)
    try:
        server.run()
    except KeyboardInterrupt as exc:
        raise Stopped(signum_of(exc), "server stopped, its workers ended") from None
    return 0 if server.started else 1
