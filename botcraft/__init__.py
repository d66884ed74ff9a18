import os as _os

__version__ = "0.1.0"

# numpy's OpenBLAS would spread each vector search (one matrix-vector product per document,
# knowledge/vectors.py) over every core and spin its threads between calls: on 2 cores that
# tripled the CPU a search costs (bench/results/meaning_search.json) for little time saved,
# and a server answers many customers at once. Set before anything imports numpy; an
# operator's own value wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
