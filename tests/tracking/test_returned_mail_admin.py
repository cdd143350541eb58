"""The "Returned mail" admin report: bounces and complaints with their reasons, for marketers."""

import pytest

from tests.factories import UserFactory
from tracking.models import ReturnedMail

pytestmark = pytest.mark.django_db


def returned(recipient: str, **fields) -> ReturnedMail:
    return ReturnedMail.objects.create(source="test", recipients=[recipient], **fields)


def test_sales_cannot_see_returned_mail(client):
    client.force_login(UserFactory(groups=["Sales"]))
    assert client.get("/admin/returned_mail/").status_code in {302, 403}


def test_marketers_see_returned_mail_filtered_by_reason(client):
    client.force_login(UserFactory(groups=["Marketers"]))
    returned("gone@example.com", kind="hard", reason="mailbox_unknown", status="5.1.1")
    returned("full@example.com", kind="soft", reason="mailbox_full", status="4.2.2")
    response = client.get("/admin/returned_mail/?reason=mailbox_unknown")
    assert response.status_code == 200
    html = response.content.decode()
    assert "gone@example.com" in html and "mailbox unknown" in html
    assert "full@example.com" not in html


def test_an_ignored_complaint_is_listed_with_why(client):
    client.force_login(UserFactory(groups=["Marketers"]))
    returned("user@example.com", kind="complaint", accepted=False, note="no signed token")
    html = client.get("/admin/returned_mail/?accepted=false").content.decode()
    assert "user@example.com" in html and "no signed token" in html
