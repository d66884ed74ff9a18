"""Channels: Telegram, WhatsApp and Instagram in and out.

Follow one message: inbound.py (webhook → stored event → the `channel_event` job →
dialogue.inbound.handle_inbound() → outbound.deliver()). base.py is what every channel does
and declares, registry.py lists them (adding a channel is a subpackage and a line there),
manager.py sets them up per agent, integrations.py is an agent's channel settings,
router.py is status, control and set-up. One subpackage per platform: telegram/ (the
channel, its settings, parsing, formatting, its webhook, polling and the platform's own
bot), meta/ (what WhatsApp and Instagram share: the Graph client and its errors, the
signature, the webhook, the checks of Meta's ids), whatsapp/ and instagram/ (each a
channel, its settings and its parser).

Owns the tables `channel_states` and `channel_events`, and writes agents'
`ai_agents.integrations_json` (only channels knows each channel's fields). It never writes
dialogue's tables (conversations, messages) itself but calls dialogue (handle_inbound,
apply_status, record_delivery).
May import: dialogue, knowledge, agents, auth, jobs, runtime, llm, language and the core.
"""
