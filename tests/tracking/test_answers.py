"""/a/<token>: a satisfaction answer, its thank-you page and optional comment."""

import pytest
from django.test import Client

from contacts.models import Activity, Contact
from contacts.segments import compile_rules
from contacts.tokens import Purpose, TokenData, answer_index, make_token
from tests.factories import CampaignFactory, MessageFactory
from tests.templates_mail.helpers import block

pytestmark = pytest.mark.django_db

PERSON = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel)"


@pytest.fixture
def message():
    campaign = CampaignFactory(body=[block("satisfaction", question="How did we do?", scale="5")])
    return MessageFactory(campaign=campaign)


def answer_url(message, score: int, scale: int = 5, purpose: Purpose = Purpose.ANSWER) -> str:
    data = TokenData(purpose, message.contact_id, message.pk, message.campaign_id, answer_index(scale, score))
    return f"/a/{make_token(data)}"


def answers(message) -> list[Activity]:
    return list(Activity.objects.filter(contact_id=message.contact_id, kind=Activity.Kind.ANSWERED))


def test_a_tampered_token_is_not_found(client, message):
    url = answer_url(message, 4)
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")
    assert client.get(tampered, HTTP_USER_AGENT=PERSON).status_code == 404
    assert answers(message) == []


def test_a_token_of_another_purpose_is_not_found(client, message):
    assert client.get(answer_url(message, 4, purpose=Purpose.CLICK), HTTP_USER_AGENT=PERSON).status_code == 404


def test_a_score_off_the_scale_is_not_found(client, message):
    assert client.get(answer_url(message, 7, scale=5), HTTP_USER_AGENT=PERSON).status_code == 404


def test_a_link_scanner_sees_the_page_but_does_not_answer(client, message):
    assert client.get(answer_url(message, 4), HTTP_USER_AGENT=SCANNER).status_code == 200
    assert answers(message) == []


def test_a_person_answering_records_history_and_the_contacts_score(client, message):
    response = client.get(answer_url(message, 4), HTTP_USER_AGENT=PERSON)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    [activity] = answers(message)
    assert activity.details["summary"] == "Answered 4 of 5 to “How did we do?”"
    assert (activity.details["score"], activity.details["campaign"]) == (4, message.campaign_id)
    message.contact.refresh_from_db()
    assert message.contact.custom_fields["satisfaction"] == 4


def test_a_second_click_on_the_same_mail_corrects_the_answer(client, message):
    client.get(answer_url(message, 2), HTTP_USER_AGENT=PERSON)
    client.get(answer_url(message, 5), HTTP_USER_AGENT=PERSON)
    [activity] = answers(message)
    assert activity.details["score"] == 5


def test_the_comment_form_refuses_a_post_without_csrf(message):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(answer_url(message, 3), {"comment": "Great"}, HTTP_USER_AGENT=PERSON)
    assert response.status_code == 403
    assert answers(message) == []


def test_the_comment_is_saved_and_answers_even_after_a_scanner_like_get(message):
    browser = Client(enforce_csrf_checks=True)
    url = answer_url(message, 3)
    browser.get(url, HTTP_USER_AGENT=SCANNER)
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(url, {"comment": "Fast <b>delivery</b>", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    [activity] = answers(message)
    assert (activity.details["score"], activity.details["comment"]) == (3, "Fast <b>delivery</b>")


def test_segments_select_contacts_by_their_satisfaction_score(client, message):
    other = MessageFactory(campaign=message.campaign)
    client.get(answer_url(message, 5), HTTP_USER_AGENT=PERSON)
    client.get(answer_url(other, 2), HTTP_USER_AGENT=PERSON)
    happy = Contact.objects.filter(compile_rules({"field": "satisfaction", "op": "gte", "value": "4"}))
    assert list(happy.values_list("pk", flat=True)) == [message.contact_id]
