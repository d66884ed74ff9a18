"""The owner's loop: answering from Telegram, teaching the bot, seeing how it goes.

Owns no tables of its own: it reads and writes conversations and messages through
`dialogue.service`, Q&A pairs through `knowledge.answers` and notices through
`notifications`. May import dialogue, knowledge, notifications, agents, auth, models, db;
nothing imports it but the app (routers) and services (the platform bot's updates).
"""
