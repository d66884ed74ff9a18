"""The base of every channel's settings model (what an owner sends for one channel)."""

from __future__ import annotations

from pydantic import ConfigDict

from botcraft.inputs import Input


class ChannelSettings(Input):
    """One channel's fields in `PUT /api/agents/{id}/integrations`; unknown fields are refused.

    Every field is optional: a field left out keeps its stored value (see integrations.merge).
    """

    model_config = ConfigDict(extra="forbid")
