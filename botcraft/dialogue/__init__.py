"""Dialogue: conversations, their messages, and answering (history + retrieval + the model).

inbound.py answers customers' messages from the channels (`handle_inbound`), engine.py
composes one answer (`compose`) and answers the owner's playground, service.py is the
owner's view (take-over, replies), failures.py the hand-over when a message cannot be processed.

Owns the tables `conversations` and `messages`.
May import: knowledge, agents, auth, jobs, runtime, llm, language and the core; never channels.
"""
