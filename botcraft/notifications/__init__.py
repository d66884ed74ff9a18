"""Telling owners that a conversation needs them: the platform's Telegram bot, else e-mail.

Owns the tables `notifications` and `notification_settings`. May import models, db, jobs,
config, runtime, errors, i18n, auth (the current user), agents (ownership) and the send pacer
of channels (`channels.ratelimit`); never dialogue, which calls in through `schedule` (its
one flag function, `dialogue.attention.flag_for_owner`, does).
"""
