"""`stic agency-api serve`: the reference agency API on the command line."""

from __future__ import annotations

from .faults import FAULT_NAMES
from .server import serve

# ------------------------------------------------------------------------------------------------ CLI


def cmd_serve(args) -> int:
    import os

    token = args.token or os.environ.get("STIC_AGENCY_TOKEN") or ""
    try:
        serve(args.host, args.port, token, args.fault, args.seed, args.scale, args.rotated_token)
    except ValueError as e:
        print(f"error: {e}")
        return 2
    return 0


def add_cli(subparsers) -> None:
    """Register `stic agency-api serve` on the `stic` command line's subparsers."""
    p = subparsers.add_parser("agency-api", help="the reference agency API (for demos and tests)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = sub.add_parser("serve", help="serve the agency feeds over HTTP on loopback until interrupted")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--token", help="the bearer token clients must send (default: $STIC_AGENCY_TOKEN)")
    s.add_argument("--rotated-token", help="the token that works after expire_token (default: <token>-rotated)")
    s.add_argument("--fault", action="append", default=[], metavar="NAME[:N]",
                   help=f"inject a fault: {', '.join(FAULT_NAMES)} (repeatable; see `pydoc stic.dev.agency_api`)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--scale", type=float, default=1.0, help="records per feed relative to the default few hundred")
    s.set_defaults(func=cmd_serve)
