"""`stic bi setup|start|stop|status`: Apache Superset over the marts, as the read-only role stic_bi_reader
(stic.ops.bi; the dashboards are the bundle in bi/superset/)."""

from __future__ import annotations


def cmd_bi(args) -> int:
    from stic.ops import bi

    try:
        if args.action == "setup":
            bi.setup(start_server=not args.no_start)
            return 0
        if args.action == "start":
            print(f"superset running on {bi.base_url()} (pid {bi.start()})")
            return 0
        if args.action == "stop":
            print("stopped" if bi.stop() else "not running")
            return 0
        s = bi.status()
        print(f"superset on {s['url']}: " + (f"running (pid {s['pid']}{'' if s['healthy'] else ', not answering'})"
                                             if s["running"] else "stopped")
              + f"; state in {s['home']}; virtualenv {s['venv']} " + ("installed" if s["installed"] else "not installed"))
        return 0 if s["running"] else 3
    except bi.BIError as e:
        print(f"stic bi {args.action}: {e}")
        return 1


def add_bi(sub) -> None:
    b = sub.add_parser("bi", help="Apache Superset with the dashboards of bi/superset: setup | start | stop | status")
    b.add_argument("action", choices=["setup", "start", "stop", "status"],
                   help="setup: install Superset into .venv-superset (once), connect it to the marts as "
                        "stic_bi_reader, import the dashboards and start it on 127.0.0.1:8088 (STIC_BI_PORT)")
    b.add_argument("--no-start", action="store_true", help="setup: do not start the server")
    b.set_defaults(func=cmd_bi)
