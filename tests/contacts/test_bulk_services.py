"""Bulk services behind the admin's actions, list re-validation and background import jobs."""

import pytest
from django.core.files.base import ContentFile

from contacts import import_states, importer, services
from contacts.models import Activity, Contact, ImportJob, Subscription
from tests.factories import ContactFactory, MailingListFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT = tmp_path


def test_add_to_list_leaves_out_unsubscribed_and_suppressed_contacts():
    mailing_list = MailingListFactory()
    keen = ContactFactory()
    gone = ContactFactory(status=Contact.Status.UNSUBSCRIBED)
    blocked = ContactFactory()
    services.suppress(email=blocked.email)
    added = services.add_to_list([keen.pk, gone.pk, blocked.pk], mailing_list)
    assert added == 1
    assert list(Subscription.objects.values_list("contact_id", flat=True)) == [keen.pk]


def test_add_to_list_does_not_revive_a_list_unsubscription():
    mailing_list = MailingListFactory()
    contact = ContactFactory()
    SubscriptionFactory(contact=contact, mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED)
    assert services.add_to_list([contact.pk], mailing_list) == 0
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED


def test_tag_contacts_adds_the_tag_once():
    contact = ContactFactory()
    assert services.tag_contacts([contact.pk], "vip") == 1
    assert services.tag_contacts([contact.pk], "vip") == 0
    assert list(contact.tags.names()) == ["vip"]


def test_unsubscribe_many_changes_status_and_records_history():
    subscribed, bounced = ContactFactory(), ContactFactory(status=Contact.Status.BOUNCED)
    SubscriptionFactory(contact=subscribed)
    assert services.unsubscribe_many([subscribed.pk, bounced.pk]) == 1
    assert Contact.objects.get(pk=bounced.pk).status == Contact.Status.BOUNCED
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED
    assert Activity.objects.get().kind == Activity.Kind.UNSUBSCRIBED


def test_revalidate_list_cleans_dead_domains_and_verifies_good_ones(dns_stub):
    mailing_list = MailingListFactory()
    good = SubscriptionFactory(mailing_list=mailing_list, contact=ContactFactory(email="a@example.com")).contact
    dead = SubscriptionFactory(mailing_list=mailing_list, contact=ContactFactory(email="b@gone.example.net")).contact
    slow = SubscriptionFactory(mailing_list=mailing_list, contact=ContactFactory(email="c@slow.example.net")).contact
    outsider = ContactFactory(email="d@gone.example.net")
    counts = services.revalidate_list(mailing_list.pk)
    assert counts == {"verified": 1, "unverified": 1, "cleaned": 1}
    statuses = dict(Contact.objects.values_list("pk", "status"))
    assert statuses[dead.pk] == Contact.Status.CLEANED
    assert statuses[outsider.pk] == Contact.Status.SUBSCRIBED
    assert Contact.objects.get(pk=good.pk).verification == Contact.Verification.VERIFIED
    assert Contact.objects.get(pk=slow.pk).verification == Contact.Verification.UNVERIFIED


def make_job(text: str, **fields) -> ImportJob:
    job = ImportJob(original_name="people.csv", check_dns=False, **fields)
    job.file.save("people.csv", ContentFile(text.encode()), save=False)
    job.save()
    return job


def test_queued_import_job_runs_and_keeps_the_error_report(django_capture_on_commit_callbacks):
    job = make_job("Mail,Name\nann@example.com,Ann\nbroken,X\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert import_states.queue_import(job, {"Mail": "email", "Name": "first_name"})
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created) == (ImportJob.Status.DONE, 2, 1)
    assert [error["row"] for error in job.errors] == [3]
    assert Contact.objects.get().first_name == "Ann"


def test_import_job_that_cannot_read_its_file_fails_with_the_reason(django_capture_on_commit_callbacks):
    job = make_job("name\nAnn\n")
    with django_capture_on_commit_callbacks(execute=True):
        import_states.queue_import(job, {})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "no email column" in job.failure


def test_a_finished_job_is_not_run_twice():
    job = make_job("email\nann@example.com\n", status=ImportJob.Status.DONE)
    importer.run_job(job.pk)
    assert not Contact.objects.exists()
    assert import_states.queue_import(job, {}) is False


def test_preview_shows_the_header_and_first_rows():
    job = make_job("email,name\n" + "".join(f"p{n}@example.com,P{n}\n" for n in range(20)))
    header, rows = importer.preview(job, limit=3)
    assert header == ["email", "name"]
    assert rows == [["p0@example.com", "P0"], ["p1@example.com", "P1"], ["p2@example.com", "P2"]]
