"""Accounts and sign-in: e-mail and password, Telegram Mini App initData, sessions, tokens.

Owns the tables `users` and `sessions`.
May import: the core only (db, models, errors, crypto, config).
"""
