"""BotCraft benchmarks: `make bench` (all) or `make bench ARGS="auth jobs"` (some).

Every benchmark measures its own baseline in the same run and writes
`bench/results/<name>.json` with the machine it ran on, the figures, the ratio and the goal.
"""
