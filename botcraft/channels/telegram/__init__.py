"""Telegram: the channel (Bot API over aiogram), parsing updates, formatting replies, polling for
development, and the platform's own bot that tells owners and takes their answers."""
