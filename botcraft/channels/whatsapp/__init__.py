"""WhatsApp Business Cloud API: the channel and its webhook parser."""
