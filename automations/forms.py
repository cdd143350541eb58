"""The journey editor form: triggers and steps as blocks (automations/blocks.py) over the stored
definition, with its JSON as an advanced path; both are checked by ``steps.plan``."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.blocks import BlockField, StreamBlock
from wagtail.blocks.base import BlockWidget

from automations import content, services
from automations.blocks import Selects, steps_block, using
from automations.editor import TooDeepError, block_error, from_blocks, to_blocks, used_values
from automations.models import Journey
from automations.steps import DefinitionError, plan
from automations.trigger_blocks import trigger_blocks


class IndentedJSONField(forms.JSONField):
    """Shown indented, so a person can read and edit the step tree."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


@cache
def journey_blocks() -> tuple[StreamBlock, StreamBlock]:
    """The trigger and step stream blocks, built once."""
    return trigger_blocks(), steps_block(Selects())


class JourneyBlockWidget(BlockWidget):
    def __init__(self, block: StreamBlock, used: dict[str, set[str]]) -> None:
        super().__init__(block)
        self.used = used

    def _build_block_json(self) -> None:
        with using(self.used):
            super()._build_block_json()


class JourneyBlockField(BlockField):
    """A stream of the editor whose selects offer the values this journey uses."""

    def __init__(self, block: StreamBlock, used: dict[str, set[str]], **kwargs) -> None:
        super().__init__(block, widget=JourneyBlockWidget(block, used), required=False, **kwargs)
        self.used = used

    def clean(self, value: Any) -> Any:
        with using(self.used):
            return super().clean(value)


class JourneyForm(WagtailAdminModelForm):
    # Placeholders, made per form in __init__ with the values this journey uses.
    triggers = BlockField(block=StreamBlock([]), required=False)
    steps = BlockField(block=StreamBlock([]), required=False)
    edit_as_json = forms.BooleanField(
        required=False,
        label="Save the JSON below instead of the blocks",
        help_text="For branches nested deeper than the blocks go.",
    )
    definition_json = IndentedJSONField(
        required=False,
        label="Definition (JSON)",
        widget=forms.Textarea(attrs={"rows": 20, "style": "font-family: monospace"}),
        help_text="Triggers and the step tree; the format is under the step reference on the flow page.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        definition = self.instance.definition or {}
        used = used_values(definition)
        triggers_block, steps_block_ = journey_blocks()
        self.fields["triggers"] = JourneyBlockField(triggers_block, used, label="Triggers")
        self.fields["steps"] = JourneyBlockField(
            steps_block_,
            used,
            label="Steps",
            help_text="From top to bottom; a branch that ends rejoins the step after its condition or split.",
        )
        try:
            triggers, steps = to_blocks(definition)
        except TooDeepError:
            triggers, steps = [], []
            self.initial["edit_as_json"] = True
        self.initial["triggers"] = self.fields["triggers"].block.to_python(triggers)
        self.initial["steps"] = self.fields["steps"].block.to_python(steps)
        self.initial["definition_json"] = definition

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        as_json = cleaned.get("edit_as_json")
        if self.errors:
            return cleaned
        definition = None
        try:
            if as_json:
                definition = cleaned.get("definition_json") or {}
            else:
                triggers = self.fields["triggers"].block.get_prep_value(cleaned["triggers"])
                definition = from_blocks(triggers, self.fields["steps"].block.get_prep_value(cleaned["steps"]))
            plan(definition)
            content.check(definition)
        except DefinitionError as error:
            if as_json:
                self.add_error("definition_json", str(error))
            else:
                self.add_error("steps", block_error(error, definition))
        else:
            self.instance.definition = definition
        return cleaned

    def save(self, commit: bool = True) -> Journey:
        journey = super().save(commit)
        if commit and journey.status != Journey.Status.DRAFT:
            # A live (or paused) journey edited: a new version; contacts inside keep theirs.
            services.publish(journey)
        return journey
