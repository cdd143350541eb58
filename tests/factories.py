"""Factories for the suite's personas. Add new ones at the end of this file."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from campaigns.models import Campaign, CampaignLink, Message, SenderIdentity
from contacts.models import Activity, Contact, MailingList, Segment, Subscription, Suppression
from templates_mail.models import Layout


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@staff.example.com")
    password = factory.django.Password("correct horse battery staple")
    is_active = True

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    status = Contact.Status.SUBSCRIBED


class MailingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailingList

    name = factory.Sequence(lambda n: f"List {n}")
    slug = factory.Sequence(lambda n: f"list-{n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    contact = factory.SubFactory(ContactFactory)
    mailing_list = factory.SubFactory(MailingListFactory)
    status = Subscription.Status.SUBSCRIBED


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    reason = Suppression.Reason.MANUAL


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(dict)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    contact = factory.SubFactory(ContactFactory)
    kind = Activity.Kind.OPENED


class LayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Layout

    name = factory.Sequence(lambda n: f"Layout {n}")
    html = (
        "<!doctype html><html><head><style>p{color:#333}</style></head><body>{{ content }}"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a> '
        "{{ postal_address }}</p></body></html>"
    )


class SenderIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SenderIdentity
        django_get_or_create = ("email",)

    name = "Rapport News"
    email = "news@example.com"
    verified = True


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    subject = "Hello {{ contact.first_name|default:'there' }}"
    sender = factory.SubFactory(SenderIdentityFactory)
    layout = factory.SubFactory(LayoutFactory)


class CampaignLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignLink

    campaign = factory.SubFactory(CampaignFactory)
    index = factory.Sequence(lambda n: n)
    url = factory.Sequence(lambda n: f"https://shop.example.com/item/{n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory)
    email = factory.LazyAttribute(lambda message: message.contact.email)
    domain = factory.LazyAttribute(lambda message: message.contact.email_domain)


class SignupFormFactory(factory.django.DjangoModelFactory):
    """A form for one double opt-in list; pass ``lists=[...]`` for others (each double opt-in)."""

    class Meta:
        model = "signups.SignupForm"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Newsletter {n}")
    slug = factory.Sequence(lambda n: f"form-{n}")
    consent_text = "I agree to receive the newsletter."
    profile_fields = ["first_name"]

    @factory.post_generation
    def lists(self, create, extracted, **kwargs):
        from signups.models import SignupFormList

        for mailing_list in extracted if extracted is not None else [MailingListFactory()]:
            SignupFormList.objects.create(form=self, mailing_list=mailing_list)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Task"

    contact = factory.SubFactory(ContactFactory)
    owner = factory.SubFactory(UserFactory)
    due_at = factory.LazyFunction(timezone.now)
    title = factory.Sequence(lambda n: f"Task {n}")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Deal"

    contact = factory.SubFactory(ContactFactory)
    date = factory.Faker("date_this_year")
    amount = 100
    currency = "EUR"
    status = "won"
