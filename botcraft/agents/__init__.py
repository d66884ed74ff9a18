"""Agents: an owner's assistants and their settings (prompt, tone, model, channel settings).

Owns the table `ai_agents` (with `integrations_json`, whose secrets are encrypted at rest).
May import: auth, jobs, runtime, llm and the core (db, models, errors, crypto, config).
Its router still calls channels and knowledge (integrations, an agent's deletion): the one
exception the import-linter contract in pyproject.toml lists.
"""
