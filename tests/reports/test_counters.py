"""Each figure of the campaign report against the hand-worked story in conftest.py."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from campaigns import services as campaign_services
from campaigns.models import Campaign
from contacts import services as contact_services
from contacts.models import Activity, Contact
from reports import feeds, services
from reports.models import MessageSeen, Watermark
from reports.rollup import PLANNER_OFF
from tests.campaigns.conftest import campaign_for
from tests.factories import ActivityFactory, CampaignFactory, MessageFactory
from tests.reports.conftest import catch_up, play
from tracking import services as tracking

pytestmark = pytest.mark.django_db


def test_a_replayed_batch_changes_no_figure(story):
    entries = play(story)
    before = services.campaign_report(story.campaign.pk)
    assert tracking.ingest(entries) == 0
    catch_up()
    assert services.campaign_report(story.campaign.pk) == before


def test_opens_count_people_and_events_with_machines_apart(story):
    play(story)
    opens = services.campaign_report(story.campaign.pk)["opens"]
    # ann: proxy + 2 human; bob: proxy only; cat: 1 human.
    assert opens == {"unique": 3, "total": 5, "unique_human": 2, "total_human": 3}


def test_clicks_count_people_and_events_with_scanners_apart(story):
    play(story)
    clicks = services.campaign_report(story.campaign.pk)["clicks"]
    # ann: link 0 twice; bob's scanner: link 0; cat: link 1.
    assert clicks == {"unique": 3, "total": 4, "unique_human": 2, "total_human": 3}


def test_each_link_has_its_own_clickers(story):
    play(story)
    links = services.campaign_report(story.campaign.pk)["links"]
    assert links == [
        {"url": "https://shop.example.com/item/0", "unique": 2, "unique_human": 1, "total": 3},
        {"url": "https://shop.example.com/item/1", "unique": 1, "unique_human": 1, "total": 1},
    ]


def test_a_bounce_after_an_open_keeps_the_open_and_is_not_delivered(story):
    play(story)
    report = services.campaign_report(story.campaign.pk)
    assert (report["sent"], report["delivered"], report["bounced"]) == (3, 2, {"hard": 1, "soft": 0})
    assert report["opens"]["unique_human"] == 2  # cat's open stays


def test_complaints_and_unsubscribes_are_counted_once_each(story):
    play(story)
    report = services.campaign_report(story.campaign.pk)
    assert (report["complaints"], report["unsubscribes"]) == (1, 1)


def test_each_receiving_domain_has_its_delivery_and_openers(story):
    play(story)
    assert services.campaign_report(story.campaign.pk)["domains"] == [
        {"domain": "mail.example.org", "sent": 2, "delivered": 1, "bounced": 1, "unique_human_opens": 2},
        {"domain": "inbox.example.net", "sent": 1, "delivered": 1, "bounced": 0, "unique_human_opens": 0},
    ]


def test_an_open_on_a_claim_row_from_before_domains_were_kept_counts_under_its_messages_domain(story):
    catch_up()
    MessageSeen.objects.filter(subject=story.bob.pk).update(domain=None, variant=None)

    tracking.ingest([("late", story.event(story.bob, "o", minutes=30))])

    [bobs_domain] = [row for row in services.domains(story.campaign.pk) if row["domain"] == "inbox.example.net"]
    assert (bobs_domain["unique_human_opens"], MessageSeen.objects.get(subject=story.bob.pk).domain) == (
        1,
        "inbox.example.net",
    )


def test_a_claim_row_from_before_domains_were_kept_gets_its_domain_with_its_next_event_even_a_repeat(story):
    catch_up()
    tracking.ingest([("first", story.event(story.bob, "o", minutes=30))])
    MessageSeen.objects.filter(subject=story.bob.pk).update(domain=None, variant=None)

    tracking.ingest([("again", story.event(story.bob, "o", minutes=31))])

    assert MessageSeen.objects.filter(subject=story.bob.pk).values_list("domain", "variant").get() == (
        "inbox.example.net",
        story.bob.variant,
    )


def test_deleting_contacts_changes_no_total(story):
    play(story)
    before = services.campaign_report(story.campaign.pk)
    Contact.objects.filter(pk__in=[story.ann.contact_id, story.cat.contact_id]).delete()
    assert services.campaign_report(story.campaign.pk) == before


def test_deleting_a_contact_keeps_their_failed_and_deferred_messages_counted(smtp, django_capture_on_commit_callbacks):
    later = campaign_for(["pat@example.com"])
    refused = CampaignFactory()
    refused.include_lists.set(later.include_lists.all())
    for campaign, reply in ((later, "451 4.3.0 try later"), (refused, "550 5.1.1 no such user")):
        smtp.handler.reply = reply
        with django_capture_on_commit_callbacks(execute=True):
            campaign_services.send_now(campaign)
    catch_up()
    figures = services.deferred(later.pk), services.campaign_report(refused.pk)["failed"]
    assert figures == (1, 1)

    Contact.objects.filter(email="pat@example.com").delete()
    catch_up()

    assert (services.deferred(later.pk), services.campaign_report(refused.pk)["failed"]) == figures


def test_a_bounce_reaches_the_report_on_the_next_pass(story):
    catch_up()
    contact_services.mark_bounced(story.cat.contact, campaign_id=story.campaign.pk, message_id=story.cat.pk)
    catch_up()
    assert services.campaign_report(story.campaign.pk)["bounced"]["hard"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_bounce_committed_after_later_ids_is_counted_once_when_it_commits():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no id below a committed one can still commit")
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    early, late = (MessageFactory(campaign=campaign, status="sent") for _ in range(2))
    holding, release = threading.Event(), threading.Event()

    def bounce_in_a_long_transaction() -> None:
        try:
            with transaction.atomic():
                contact_services.mark_bounced(early.contact, campaign_id=campaign.pk, message_id=early.pk)
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=bounce_in_a_long_transaction)
    writer.start()
    assert holding.wait(20)
    contact_services.mark_bounced(late.contact, campaign_id=campaign.pk, message_id=late.pk)
    catch_up()
    counted_while_open = services.campaign_report(campaign.pk)["bounced"]["hard"]
    release.set()
    writer.join()
    catch_up()
    catch_up()

    assert (counted_while_open, services.campaign_report(campaign.pk)["bounced"]["hard"]) == (1, 2)
    assert Watermark.objects.get(name=feeds.HISTORY).holes == []


def test_a_roll_up_leaves_the_planner_settings_of_its_transaction_as_they_were(story):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner settings")

    def settings() -> list[str]:
        with connection.cursor() as cursor:
            shown = []
            for name in PLANNER_OFF:
                cursor.execute(f"SHOW {name}")
                shown.append(cursor.fetchone()[0])
            return shown

    before = settings()
    tracking.ingest([("e1", story.event(story.ann, "o", minutes=1))])

    assert settings() == before


def test_the_history_feed_finds_every_run_of_missing_ids_up_to_the_end_of_its_range():
    ids = [ActivityFactory().pk for _ in range(6)]
    Activity.objects.filter(pk__in=[ids[1], ids[2], ids[5]]).delete()

    assert feeds.missing_ids(ids[0], ids[5] + 2) == [(ids[1], ids[2]), (ids[5], ids[5] + 2)]
