"""Run the peer (bench/peer_bot.py) the way bench/server.py runs BotCraft, with the same counters.

    python -m bench.peer seed DB CHUNKS_JSON
    python -m bench.peer serve full|min PORT     # PEER_* variables as peer_bot.py's docstring says

bench/peer_bot.py is ../shared/peer/peer_bot.py as the issue gave it; what was changed in it so
that it does the same work per message as BotCraft is listed at the top of that file.
"""

from __future__ import annotations

import sys

from bench import counters, peer_bot

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        counters.install(botcraft=False)
        peer_bot.serve(sys.argv[2], int(sys.argv[3]))
    else:
        peer_bot.seed(sys.argv[2], sys.argv[3])
