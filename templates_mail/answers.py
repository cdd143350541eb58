"""The signed answer links of a satisfaction question (templates_mail.blocks.SatisfactionBlock)."""

from __future__ import annotations

from collections.abc import Iterable

from contacts.tokens import ANSWER_CHOICES, Purpose, TokenData, answer_index, make_token
from templates_mail.merge import ANSWER_PREFIX, Tag


def field_name(scale: int, score: int) -> str:
    return f"{ANSWER_PREFIX}{scale}.{score}"


def answers_used(tags: Iterable[Tag]) -> tuple[tuple[int, int], ...]:
    """The (scale, score) answer fields a message uses, so only those are signed per recipient."""
    fields = {tag.expression.strip() for tag in tags if tag.is_variable}
    return tuple(sorted(choice for choice in ANSWER_CHOICES if field_name(*choice) in fields))


def answer_url(site_url: str, data: TokenData, scale: int, score: int) -> str:
    """``data`` names the recipient, message and campaign; the link index carries the answer."""
    token = make_token(
        TokenData(Purpose.ANSWER, data.contact_id, data.message_id, data.campaign_id, answer_index(scale, score))
    )
    return f"{site_url}/a/{token}"
