"""Knowledge: uploaded documents, parsed in a child process, chunked and indexed; `search()`.

Owns the tables `documents` and `chunks` (and the full-text index over them).
May import: agents, auth, jobs, runtime, llm, language (the tokenisation it indexes with)
and the core.
"""
