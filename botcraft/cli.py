"""`botcraft serve | migrate | worker | make-admin`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from botcraft.config import ConfigError, get_settings

# How long an idle connection is kept open. With uvicorn's own 5 s, the bench's webhook load
# (bench/channels_e2e.py, a 2 s model) saw the server close the connection under 2–3 of
# 1,000 posts; a webhook sender keeps its connections open, and 75 s is aiohttp's and
# nginx's default.
KEEP_ALIVE_S = 75


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    uvicorn.run(
        "botcraft.app:serve_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _migrate(_: argparse.Namespace) -> None:
    from botcraft import migrate
    from botcraft.db import Database

    async def run() -> None:
        db = Database(get_settings().resolved_database_url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    print("Database is up to date.")


def _worker(args: argparse.Namespace) -> None:
    import signal

    from botcraft import migrate
    from botcraft.db import Database
    from botcraft.heap import freeze_startup_heap, tune_malloc
    from botcraft.logs import configure_logging
    from botcraft.runtime import Runtime
    from botcraft.services import Background

    tune_malloc()  # before the database driver and the executor start their threads
    settings = get_settings()
    configure_logging(json_logs=settings.is_production, level=settings.log_level)

    async def run() -> None:
        db = Database(settings.resolved_database_url)
        await migrate.upgrade(db)
        runtime = Runtime(settings, db)
        pool = Background(runtime, workers=args.count, concurrency=args.concurrency, serve=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await pool.start()
        freeze_startup_heap()
        print(f"Worker running ({args.count} x {args.concurrency}); Ctrl+C to stop.", flush=True)
        await stop.wait()
        await pool.stop(args.grace)
        await runtime.close()
        await db.dispose()

    asyncio.run(run())


def _make_admin(args: argparse.Namespace) -> None:
    from sqlalchemy import update

    from botcraft.auth.schemas import normalise_email
    from botcraft.db import Database
    from botcraft.models import User

    async def run() -> int:
        db = Database(get_settings().resolved_database_url)
        try:
            async with db.transaction() as session:
                result = await session.execute(
                    update(User).where(User.email == normalise_email(args.email)).values(is_admin=True)
                )
                return int(result.rowcount or 0)  # type: ignore[attr-defined]
        finally:
            await db.dispose()

    if asyncio.run(run()) == 0:
        sys.exit(f"No account with the e-mail {args.email}.")
    print(f"{args.email} is now an admin.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="botcraft", description="BotCraft service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API, the web app and the workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    worker = sub.add_parser("worker", help="run job workers only (scale out next to serve)")
    worker.add_argument("--count", type=int, default=1, help="worker loops in this process")
    worker.add_argument("--concurrency", type=int, default=get_settings().worker_concurrency,
                        help="jobs at once per loop")
    worker.add_argument("--grace", type=float, default=10.0, help="seconds to finish jobs on stop")
    worker.set_defaults(func=_worker)
    admin = sub.add_parser("make-admin", help="give an account the admin role")
    admin.add_argument("email")
    admin.set_defaults(func=_make_admin)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
