"""contacts/tokens.py: signed, compact, purpose-bound tokens."""

import random
import re
import string

import pytest
from django.test import override_settings

from contacts.tokens import Purpose, TokenData, click_tokens, make_token, read_token

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def click(**fields) -> TokenData:
    return TokenData(
        Purpose.CLICK, **{"contact_id": 42, "message_id": 9001, "campaign_id": 7, "link_index": 3} | fields
    )


def test_random_forgeries_are_all_rejected():
    rng = random.Random(6)
    alphabet = string.ascii_letters + string.digits + "-_"
    genuine = make_token(click())
    accepted = 0
    for _ in range(10_000):
        length = rng.choice([len(genuine), rng.randint(1, 60)])
        forged = "".join(rng.choice(alphabet) for _ in range(length))
        accepted += read_token(forged, Purpose.CLICK) is not None
    assert accepted == 0


def test_a_token_with_any_single_character_changed_is_rejected():
    genuine = make_token(click())
    for position in range(len(genuine)):
        replacement = "A" if genuine[position] != "A" else "B"
        tampered = genuine[:position] + replacement + genuine[position + 1 :]
        assert read_token(tampered, Purpose.CLICK) is None, position


def test_truncated_tokens_are_rejected():
    genuine = make_token(click())
    for length in range(len(genuine)):
        assert read_token(genuine[:length], Purpose.CLICK) is None


def test_a_token_is_only_valid_for_its_own_purpose():
    unsubscribe = make_token(TokenData(Purpose.UNSUBSCRIBE, 42, 9001, 7))
    for purpose in Purpose:
        if purpose is not Purpose.UNSUBSCRIBE:
            assert read_token(unsubscribe, purpose) is None


@pytest.mark.parametrize("garbage", ["", "====", "a b", "é" * 20, "x" * 500, "AAAAAAAAAAAAAAAAAAAAAAA=", "%00%00"])
def test_malformed_input_is_rejected(garbage):
    assert read_token(garbage, Purpose.OPEN) is None


def test_the_same_token_read_twice_gives_the_same_data():
    # Tokens are stateless: a replay names the same contact and message. What a replay may
    # do is up to the endpoint (a second click is a second click; a second unsubscribe is a no-op).
    token = make_token(click())
    assert read_token(token, Purpose.CLICK) == read_token(token, Purpose.CLICK) == click()


def test_roundtrip_keeps_every_field_including_absent_ones():
    for data in [
        click(),
        TokenData(Purpose.OPEN, 1),
        TokenData(Purpose.BOUNCE, 2**40, 2**50, 0, None),
        TokenData(Purpose.CLICK, 5, None, 9, 0),
    ]:
        assert read_token(make_token(data), data.purpose) == data


def test_tokens_are_url_safe_compact_and_hold_no_email():
    token = make_token(click(contact_id=123_456, message_id=98_765_432))
    assert URL_SAFE.match(token)
    assert len(token) <= 40
    assert "@" not in token


def test_click_tokens_match_individually_made_tokens():
    batch = click_tokens(42, 9001, 7, 25)
    assert batch == [make_token(click(link_index=index)) for index in range(25)]


def test_tokens_signed_with_a_retired_key_still_verify_after_rotation():
    with override_settings(SECRET_KEY="old-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[]):
        old = make_token(click())
    with override_settings(SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 40]):
        assert read_token(old, Purpose.CLICK) == click()
        assert make_token(click()) != old


def test_tokens_signed_with_an_unknown_key_are_rejected():
    with override_settings(SECRET_KEY="someone-elses-key-" + "z" * 40, SECRET_KEY_FALLBACKS=[]):
        foreign = make_token(click())
    assert read_token(foreign, Purpose.CLICK) is None
