"""The tracked event's wire form: what the Redis stream holds between a request and the drain."""

from tracking.events import EventKind, TrackedEvent


def test_an_event_survives_the_trip_through_its_wire_form():
    event = TrackedEvent(EventKind.CLICK, 7, 11, 3, at=1_700_000_000.5, link_index=2, user_agent="UA", url="https://x")
    assert TrackedEvent.from_wire(event.to_wire()) == event


def test_the_wire_form_keeps_the_documented_short_keys():
    wire = TrackedEvent(EventKind.OPEN, 7, 11, 3, at=1.0).to_wire()
    assert set(wire) == {"k", "c", "m", "g", "l", "t", "u", "h", "r", "url"}
    assert wire["k"] == "o"


def test_an_entry_without_the_optional_keys_reads_as_empty_ones():
    event = TrackedEvent.from_wire({"k": "o", "c": 7, "m": None, "g": None, "t": 1.0})
    assert (event.link_index, event.user_agent, event.ip_hash, event.machine_reason, event.url) == (
        None,
        "",
        "",
        "",
        "",
    )


def test_a_long_user_agent_is_cut_to_what_history_keeps():
    assert len(TrackedEvent(EventKind.OPEN, 7, None, None, at=1.0, user_agent="x" * 1000).user_agent) == 300
