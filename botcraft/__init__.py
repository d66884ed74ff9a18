import os as _os

__version__ = "0.1.0"

# numpy's OpenBLAS would spread each vector search (one matrix-vector product per document,
# knowledge/vectors.py) over every core and spin its threads between calls: on 2 cores that
# tripled the CPU a search costs (bench/results/meaning_search.json) for little time saved,
# and a server answers many customers at once. Set before anything imports numpy; an
# operator's own value wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# aiogram builds the validator of each of its ~300 Telegram types when imported (123 MB of
# RSS, 4 s); this hook leaves each to be built on its first use. Installed before anything
# can import aiogram: see botcraft/aiogram_deferred.py.
from botcraft import aiogram_deferred as _aiogram_deferred  # noqa: E402

_aiogram_deferred.install()

# Before anything imports structlog, httpx or mako: see botcraft/dev_extras.py.
from botcraft import dev_extras as _dev_extras  # noqa: E402

_dev_extras.import_probing_libraries()
