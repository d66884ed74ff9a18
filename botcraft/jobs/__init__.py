"""Durable jobs: rows in `jobs`, claimed under a lease, retried with back-off, never dropped.

kinds.py holds the job names only; the handlers are registered at the top (botcraft/services.py).
Owns the table `jobs`.
May import: runtime, llm and the core; never a domain package.
"""
