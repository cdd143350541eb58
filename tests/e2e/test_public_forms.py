"""The recipient's own forms work in a real browser: the browser decides which Origin it sends,
and a policy that makes it send "Origin: null" gets every form refused by the CSRF check."""

from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import MessageFactory


def test_the_unsubscribe_button_unsubscribes_in_a_browser(page_for):
    message = MessageFactory()
    page = page_for(None)
    page.goto(f"/u/{make_token(TokenData(Purpose.UNSUBSCRIBE, message.contact_id, message.pk, message.campaign_id))}")

    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe").click()

    assert "CSRF" not in page.content()
    message.contact.refresh_from_db()
    assert message.contact.status == Contact.Status.UNSUBSCRIBED


def test_the_preference_centre_saves_in_a_browser(page_for):
    message = MessageFactory()
    page = page_for(None)
    page.goto(f"/p/{make_token(TokenData(Purpose.PREFERENCES, message.contact_id, message.pk, message.campaign_id))}")

    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save").click()

    assert navigation.value.status == 200
    assert "CSRF" not in page.content()
