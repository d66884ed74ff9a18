"""Channels: Telegram, WhatsApp and Instagram in and out.

Follow one message: inbound.py (webhook → stored event → the `channel_event` job →
dialogue.inbound.handle_inbound() → outbound.deliver()). base.py is what every channel does,
registry.py lists them, manager.py sets them up per agent, router.py and meta/webhooks.py are
the HTTP side. One subpackage per platform: telegram/ (the channel, parsing, formatting,
polling and the platform's own bot), meta/ (what WhatsApp and Instagram share: the Graph
client and its errors, the signature, the webhooks), whatsapp/ and instagram/ (each a
channel and its parser).

Owns the tables `channel_states` and `channel_events`; it never writes dialogue's tables
(conversations, messages) itself but calls dialogue (handle_inbound, apply_status,
record_delivery).
May import: dialogue, knowledge, agents, auth, jobs, runtime, llm and the core.
"""
