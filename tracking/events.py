"""An open or a click, as it travels from the request (or an ESP webhook) to Activity.

Request handlers, the ESP webhook and the tests build a :class:`TrackedEvent`; it goes
into the Redis stream as its wire form (a small JSON object) and comes back out of it for
the drain. The wire keys are short because the stream holds every event of a send until
the drain catches up; they are part of the stored format (entries written by an older
version are still read), so change them only with a reader for both:

====  ===============  ==========================================================
key   field            meaning
====  ===============  ==========================================================
k     kind             "o" open, "c" click
c     contact_id       the contact the token names
m     message_id       the Message delivered to them (None: not from a delivery)
g     campaign_id      its campaign
l     link_index       index in the campaign's link table (clicks; None for opens)
t     at               when it happened, Unix time in seconds (float)
u     user_agent       the visitor's User-Agent, cut to 300 characters
h     ip_hash          machine.hash_ip() of the visitor's IP ("" when unknown)
r     machine_reason   why it was made by a machine, known at request time ("" if not)
url   url              the URL a click went to ("" for opens)
====  ===============  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from contacts.models import Activity

USER_AGENT_CHARS = 300


class EventKind(StrEnum):
    OPEN = "o"
    CLICK = "c"


ACTIVITY_KINDS = {EventKind.OPEN: Activity.Kind.OPENED, EventKind.CLICK: Activity.Kind.CLICKED}


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    kind: EventKind
    contact_id: int
    message_id: int | None
    campaign_id: int | None
    at: float
    link_index: int | None = None
    user_agent: str = ""
    ip_hash: str = ""
    machine_reason: str = ""
    url: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "user_agent", self.user_agent[:USER_AGENT_CHARS])

    @property
    def activity_kind(self) -> str:
        return ACTIVITY_KINDS[self.kind]

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    def to_wire(self) -> dict[str, Any]:
        """The short-key form stored in the Redis stream (see the module's table)."""
        return {
            "k": str(self.kind),
            "c": self.contact_id,
            "m": self.message_id,
            "g": self.campaign_id,
            "l": self.link_index,
            "t": self.at,
            "u": self.user_agent,
            "h": self.ip_hash,
            "r": self.machine_reason,
            "url": self.url,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TrackedEvent:
        """The event of a stream entry; keys after ``t`` may be missing (they default to empty)."""
        return cls(
            kind=data["k"],
            contact_id=data["c"],
            message_id=data["m"],
            campaign_id=data["g"],
            at=data["t"],
            link_index=data.get("l"),
            user_agent=data.get("u", ""),
            ip_hash=data.get("h", ""),
            machine_reason=data.get("r", ""),
            url=data.get("url", ""),
        )
