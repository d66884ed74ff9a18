"""Telling owners that a conversation needs them: the platform's Telegram bot, else e-mail.

Owns the tables `notifications` and `notification_settings`. May import models, db, jobs,
config, runtime, errors, auth (the current user) and agents (ownership); never dialogue or
channels, which call in through `schedule` (the dialogue's one flag function does).
"""
