"""A worker process for the embedding crash test:
`python -m tests.embedding_worker DB_URL DATA_DIR EMBEDDINGS_BASE_URL LEASE`.

Runs every job kind (documents are parsed and embedded) with EMBEDDINGS=openai against the
given server, so a test can SIGKILL it in the middle of embedding a document.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from botcraft.config import Settings
from botcraft.db import Database
from botcraft.jobs.worker import Worker
from botcraft.knowledge import meaning
from botcraft.runtime import Runtime
from botcraft.services import register_handlers


async def main() -> None:
    settings = Settings(_env_file=None, DATABASE_URL=sys.argv[1], DATA_DIR=Path(sys.argv[2]),  # type: ignore[call-arg]
                        JWT_SECRET_KEY="x" * 40, EMBEDDINGS="openai", EMBEDDINGS_BASE_URL=sys.argv[3],
                        EMBEDDINGS_API_KEY="sk-test", EMBEDDINGS_MODEL="fake-embed-a",
                        EMBEDDINGS_BATCH_SIZE=32).finalize()
    db = Database(settings.resolved_database_url)
    runtime = Runtime(settings, db)
    meaning.install(settings)
    register_handlers()  # every job kind, as a real worker has them
    worker = Worker(runtime, concurrency=4, poll_interval=0.1, lease_seconds=float(sys.argv[4]))
    worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
