"""Every job kind's name, and nothing else: the handlers are registered at the top
(botcraft/services.py `register_handlers`), so no domain imports another's job code and no
job name is spelled twice."""

CHANNEL_EVENT = "channel_event"  # a stored inbound event → answered and sent (channels/inbound.py)
DELIVER_MESSAGE = "deliver_message"  # a stored outbound message (the owner's reply) → sent (channels/outbound.py)
PROCESS_DOCUMENT = "process_document"  # an uploaded document → parsed, chunked, indexed (knowledge/processing.py)
EMBED_DOCUMENT = "embed_document"  # a ready document → its passages' vectors (knowledge/embedding.py)
NOTIFY_OWNER = "notify_owner"  # a conversation needing its owner → told by Telegram or e-mail (notifications/tasks.py)
AGENT_REMOVED = "agent_removed"  # a deleted agent → its bots torn down, its files removed (services.py)
