"""A person with data in every place Rapport keeps it, and a search of every table and file for them."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from config.redis import client as redis_client
from contacts import services as contact_services
from contacts.models import Activity, Contact, ImportJob, Suppression
from contacts.roles import ensure_groups
from sales.models import Task
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    MessageFactory,
    SubscriptionFactory,
    UserFactory,
)
from tracking import buffer
from tracking.events import EventKind, TrackedEvent
from tracking.models import ReturnedMail

ADDRESS = "zebulon.quixotewright@example.com"
FIRST, LAST = "Zebulon", "Quixotewright"


@dataclass
class Person:
    contact: Contact
    campaign_id: int
    import_file: Path
    error_report: Path


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVACY_LOG_DIRS = [tmp_path / "log"]
    for directory in (settings.IMPORT_UPLOAD_ROOT, settings.MEDIA_ROOT, tmp_path / "log"):
        directory.mkdir()
    redis_client().delete(buffer.STREAM)


@pytest.fixture
def marketer():
    ensure_groups()
    return UserFactory(username="marketer", groups=["Marketers"])


@pytest.fixture
def person(settings, tmp_path) -> Person:
    """Zebulon, known everywhere: profile, tags, consent, lists, history, a message, a returned
    mail, a task, an import file and its error report, a log line, an event still in Redis."""
    contact = ContactFactory(
        email=ADDRESS,
        first_name=FIRST,
        last_name=LAST,
        phone="+33 6 12 34 56 78",
        city="Lyon",
        custom_fields={"nickname": "Zeb the great"},
        notes=f"{FIRST} prefers calls",
        consent_ip="203.0.113.9",
        consent_form="newsletter",
    )
    contact.tags.add("zebulons-friends")
    SubscriptionFactory(contact=contact)
    campaign = CampaignFactory()
    message = MessageFactory(campaign=campaign, contact=contact, error=f"550 <{ADDRESS}>: no such user")
    ActivityFactory(contact=contact, kind=Activity.Kind.SENT, campaign_id=campaign.pk, message_id=message.pk)
    ActivityFactory(
        contact=contact,
        kind=Activity.Kind.CLICKED,
        campaign_id=campaign.pk,
        link_url=f"https://shop.example.com/cart?email={ADDRESS}&name={FIRST}",
        details={"ua": "Mozilla/5.0", "ip": "abc123", "link": 2},
    )
    contact_services.add_note(contact, f"Met {FIRST} {LAST} at the fair", None)
    contact_services.record(contact, Activity.Kind.PROFILE, details={"changes": [f"Last name changed to {LAST}"]})
    ReturnedMail.objects.create(source="imap", kind="hard", recipients=[ADDRESS], contact=contact, note=ADDRESS)
    ReturnedMail.objects.create(source="imap", kind="hard", recipients=[ADDRESS.upper()])
    Suppression.objects.create(email=ADDRESS, reason=Suppression.Reason.HARD_BOUNCE)
    Task.objects.create(contact=contact, title=f"Call {FIRST}", note=f"{LAST} wants a quote", due_at=timezone.now())
    uploads = Path(settings.IMPORT_UPLOAD_ROOT) / "imports"
    uploads.mkdir(parents=True)
    import_file = uploads / "a1.csv"
    import_file.write_text(f"email,first_name,last_name\r\n{ADDRESS},{FIRST},{LAST}\r\nann@example.org,Ann,Lee\r\n")
    error_report = uploads / "a1-errors.csv"
    error_report.write_text(f"row,email,reason\r\n3,{ADDRESS},duplicate\r\n")
    ImportJob.objects.create(
        file="imports/a1.csv",
        error_report="imports/a1-errors.csv",
        status=ImportJob.Status.DONE,
        errors=[{"row": 3, "email": ADDRESS, "reason": "duplicate"}],
    )
    (tmp_path / "log" / "rapport.log").write_text(f"INFO sent to {ADDRESS}\nINFO drain ok\n")
    buffer.push(TrackedEvent(EventKind.OPEN, contact.pk, message.pk, campaign.pk, at=0, user_agent="UA"))
    buffer.push(TrackedEvent(EventKind.OPEN, contact.pk + 1000, None, None, at=0, user_agent="UA"))
    return Person(contact, campaign.pk, import_file, error_report)


def database_hits(*needles: str) -> list[str]:
    """``table.column`` of every text or JSON value, in every table, that contains a needle."""
    hits = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, (models.CharField, models.TextField, models.JSONField)) or field.is_relation:
                continue
            rows = model._default_manager.annotate(_text=Cast(field.name, models.TextField()))
            for needle in needles:
                if rows.filter(_text__icontains=needle).exists():
                    hits.append(f"{model._meta.db_table}.{field.column} has {needle}")
    return hits


def file_hits(roots: list[Path], *needles: str) -> list[str]:
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes().lower()
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as archive:
                    data = b"".join(archive.read(name) for name in archive.namelist()).lower()
            hits += [f"{path} has {needle}" for needle in needles if needle.lower().encode() in data]
    return hits


def archive(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def table(files: dict[str, bytes], name: str) -> list[dict]:
    return json.loads(files[f"{name}.json"])
