"""Importing this registers every job kind's handler (each domain owns its handlers)."""

from botcraft.channels import sender as _sender  # noqa: F401
from botcraft.channels import tasks as _channel_events  # noqa: F401
from botcraft.dialogue import tasks as _dialogue  # noqa: F401
from botcraft.knowledge import processing as _knowledge  # noqa: F401
from botcraft.notifications import tasks as _notifications  # noqa: F401
