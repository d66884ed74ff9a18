"""Knowledge: uploaded documents, parsed in a child process, chunked and indexed; `search()`.

Owns the tables `documents`, `chunks` and `chunk_vectors`; the indexes over them are held in
the process (word_index.py for words, vectors.py for meaning).
May import: agents, auth, jobs, runtime, llm, language (the tokenisation it indexes with)
and the core.
"""
