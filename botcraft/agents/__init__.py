"""Agents: an owner's assistants and their settings (prompt, tone, model, language).

Owns the table `ai_agents`. Its `integrations_json` column (channel settings, secrets
encrypted) is written and read by channels (channels/integrations.py), which alone knows
each channel's fields; agents only shows it masked, through IntegrationsView. Deleting an
agent queues `agent_removed` (its bots, its documents' files, whose hashes it reads from
`documents` for that job), which services.py handles.
May import: auth, jobs, runtime, llm, language and the core (db, models, errors, crypto, config).
"""
