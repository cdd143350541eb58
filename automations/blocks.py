"""The journey editor's blocks: one StreamField block per step kind (triggers: trigger_blocks.py),
with conditions and splits holding their yes/no branches as nested streams (MAX_DEPTH levels
of step lists).

The blocks are built once (Wagtail keeps every block ever made); their selects also offer the
values the journey being edited uses (USED: a deleted list, a custom field not defined yet), so
a saved journey always opens and shows what it holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wagtail import blocks
from wagtail.blocks.struct_block import BlockGroup

from automations.steps import SETTABLE_FIELDS
from campaigns.models import Campaign
from contacts.models import CustomField, MailingList, Segment

# The journey's own list of steps and three levels of yes/no branches inside it.
MAX_DEPTH = 4
UNITS = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS = [("", "any day"), *((str(number), day) for number, day in enumerate(DAYS))]
HOURS = [("", "no hour"), *((str(hour), f"{hour:02d}:00") for hour in range(24))]
TESTS = [
    ("opened", "opened an earlier email"),
    ("clicked", "clicked in an earlier email"),
    ("segment", "the contact matches a segment"),
]
HELP = {
    "key": "A short unique name (up to 32 characters) the flow diagram shows; left blank, one is made up.",
    "rules": "Segment rules as JSON, used when no segment is chosen (rules no segment has are shown here).",
    "subject": "Merge tags allowed, e.g. {{ contact.first_name }}.",
    "text": "Paragraphs separated by a blank line; merge tags allowed.",
    "button_url": "A full URL; with a label, the email shows a button.",
    "question": "Blank: no question. A click records the answer on the contact (history and a field).",
    "hour": "Blank: no hour (the weekday then does not count).",
    "email": "The key of an email step before this one (they are offered as you type).",
    "content": (
        "A draft composed under Campaigns (its subject, layout, sender and blocks are sent; "
        "the fields below are then not needed). Blank: the fields below."
    ),
}
# The ids of the <datalist> elements the editor page fills (automations/edit.html).
EMAIL_KEYS, TAGS = "journey-email-keys", "journey-tags"

Choices = list[tuple[str, str]]
Source = Callable[[], Iterable[tuple[object, str]]]


def char(label: str, **options) -> blocks.CharBlock:
    return blocks.CharBlock(label=label, **options)


def listed(label: str, datalist: str, **options) -> blocks.CharBlock:
    """A text input offering the values of the page's ``datalist`` as one types."""
    block = char(label, **options)
    block.field.widget.attrs["list"] = datalist
    return block


def number(label: str, **options) -> blocks.IntegerBlock:
    return blocks.IntegerBlock(label=label, **options)


def struct(label: str, icon: str, children: list[tuple[str, blocks.Block]]) -> blocks.StructBlock:
    return blocks.StructBlock(children, label=label, icon=icon)


def rules() -> blocks.TextBlock:
    return blocks.TextBlock(label="Rules (JSON)", required=False, rows=2, help_text=HELP["rules"])


# The values the journey being edited uses, so its selects offer them even when nothing in the
# database defines them any more (set around rendering and cleaning by automations/forms.py).
USED: ContextVar[dict[str, set[str]]] = ContextVar("journey_used_values", default={})  # noqa: B039


@contextmanager
def using(used: dict[str, set[str]]) -> Iterator[None]:
    token = USED.set(used)
    try:
        yield
    finally:
        USED.reset(token)


class Selects:
    """Selects over the database that also offer the values the journey uses already (USED)."""

    def select(self, kind: str, source: Source, label: str, **options) -> blocks.ChoiceBlock:
        def choices() -> Choices:
            found = [(str(value), name) for value, name in source()]
            known = {value for value, _ in found}
            missing = sorted(set(USED.get().get(kind, ())) - known)
            return found + [(value, f"{value} (not found)") for value in missing]

        return blocks.ChoiceBlock(choices=choices, label=label, **options)

    def mailing_list(self, **options) -> blocks.ChoiceBlock:
        return self.select("lists", lambda: MailingList.objects.values_list("slug", "name"), "List", **options)

    def content(self) -> blocks.ChoiceBlock:
        drafts = Campaign.objects.filter(status=Campaign.Status.DRAFT, journey_step=None).order_by("name")
        source = lambda: drafts.values_list("pk", "name")  # noqa: E731
        return self.select(
            "content", source, "Content from the campaign builder", required=False, help_text=HELP["content"]
        )

    def segment(self, help_text: str) -> blocks.ChoiceBlock:
        source = lambda: Segment.objects.order_by("name").values_list("pk", "name")  # noqa: E731
        return self.select("segments", source, "Segment", required=False, help_text=help_text)


def steps_block(selects: Selects, depth: int = 1) -> blocks.StreamBlock:
    """The stream of steps at ``depth``; conditions and splits only above MAX_DEPTH."""
    children = [("email", _email(selects)), ("wait", _wait())]
    if depth < MAX_DEPTH:
        inner = steps_block(selects, depth + 1)
        # A branch is a stream of its own (the JS needs one name per block); its children are shared.
        yes = blocks.StreamBlock(list(inner.child_blocks.items()), required=False, label="Yes")
        no = blocks.StreamBlock(list(inner.child_blocks.items()), required=False, label="No")
        condition = _step(
            "Condition (yes / no)",
            "help",
            ["test", "email", _group("Segment (when it is “matches a segment”)", ["segment", "rules"]), "yes", "no"],
            test=blocks.ChoiceBlock(choices=TESTS, default="opened", label="Yes when"),
            segment=selects.segment("Its rules as they are when you save."),
            rules=rules(),
            email=listed("Email step key", EMAIL_KEYS, required=False, max_length=32, help_text=HELP["email"]),
            yes=yes,
            no=no,
        )
        percent = number("Percent taking yes", min_value=0, max_value=100, default=50)
        children += [
            ("condition", condition),
            ("split", _step("Random split (A/B)", "resubmit", percent=percent, yes=yes, no=no)),
        ]
    return blocks.StreamBlock(children + _actions(selects), required=False, label="Steps")


def _actions(selects: Selects) -> list[tuple[str, blocks.Block]]:
    fields = selects.select("fields", _settable_fields, "Field")
    goal = selects.segment("A contact matching it at any step leaves, having reached the goal.")
    return [
        ("tag", _step("Add a tag", "tag", tag=listed("Tag", TAGS))),
        ("untag", _step("Remove a tag", "tag", tag=listed("Tag", TAGS))),
        ("add_to_list", _step("Add to a list", "list-ul", list=selects.mailing_list())),
        ("remove_from_list", _step("Remove from a list", "list-ul", list=selects.mailing_list())),
        ("set_field", _step("Set a field", "edit", field=fields, value=char("Value", required=False))),
        ("task", _step("Task for the owner", "user", title=char("Title", max_length=200), days=_due())),
        ("goal", _step("Goal", "success", ["segment", _group("Rules", ["rules"])], segment=goal, rules=rules())),
        ("exit", _step("Exit", "logout")),
    ]


def _step(label: str, icon: str, layout: list | None = None, **children: blocks.Block) -> blocks.StructBlock:
    key = char("Step key", max_length=32, required=False, help_text=HELP["key"])
    options = {"form_layout": BlockGroup(["key", *layout])} if layout else {}
    return blocks.StructBlock([("key", key), *children.items()], label=label, icon=icon, **options)


def _group(heading: str, names: list[str], summary: str = "") -> BlockGroup:
    return BlockGroup(names, heading=heading, classname="collapsed", label_format=summary)


def _email(selects: Selects) -> blocks.StructBlock:
    scale = blocks.ChoiceBlock(choices=[("5", "1 to 5"), ("10", "0 to 10 (NPS)")], default="5", label="Answer scale")
    button, question = (
        _group("Button", ["button_label", "button_url"], "{button_label}"),
        _group("Satisfaction question", ["question", "scale"], "{question}"),
    )
    return _step(
        "Send an email",
        "mail",
        ["content", "subject", "heading", "text", button, question],
        content=selects.content(),
        subject=char("Subject", max_length=300, required=False, help_text=HELP["subject"]),
        heading=char("Heading", required=False),
        text=blocks.TextBlock(label="Text", required=False, help_text=HELP["text"]),
        button_label=char("Button label", required=False),
        button_url=char("Button link", required=False, help_text=HELP["button_url"]),
        question=char("Question", required=False, help_text=HELP["question"]),
        scale=scale,
    )


def _wait() -> blocks.StructBlock:
    return _step(
        "Wait",
        "time",
        amount=number("Wait for", min_value=0, required=False),
        unit=blocks.ChoiceBlock(choices=UNITS, default="days", label="Unit"),
        weekday=blocks.ChoiceBlock(choices=WEEKDAYS, required=False, label="Then until the weekday"),
        hour=blocks.ChoiceBlock(choices=HOURS, required=False, label="at (contact's time)", help_text=HELP["hour"]),
    )


def _due() -> blocks.IntegerBlock:
    return number("Due in days", min_value=0, default=1)


def _settable_fields() -> Choices:
    custom = [(f"custom.{key}", label) for key, label in CustomField.objects.values_list("key", "label")]
    return sorted((name, name.replace("_", " ")) for name in SETTABLE_FIELDS) + custom
