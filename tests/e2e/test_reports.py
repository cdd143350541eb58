"""The campaign report in Chromium: every chart drawn by Chart.js, a table beside each, axe-clean."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contacts.roles import MARKETERS, ensure_groups
from tests.e2e.conftest import check_page
from tests.factories import UserFactory
from tests.reports.conftest import _empty_buffer, play, story  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)

CHARTS = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(canvas => ({
    drawn: Boolean(window.Chart && window.Chart.getChart(canvas)),
    table: Boolean(document.getElementById(canvas.dataset.table)),
    rows: document.getElementById(canvas.dataset.table)?.tBodies[0].rows.length || 0,
    points: window.Chart?.getChart(canvas)?.data.labels.length || 0,
}))"""


def test_each_chart_is_drawn_from_the_table_beside_it(page_for, story):  # noqa: F811 - the fixture
    play(story)
    ensure_groups()
    page = page_for(UserFactory(username="mia", groups=[MARKETERS]))
    page.goto(reverse("reports:campaign", args=[story.campaign.pk]))

    charts = page.evaluate(CHARTS)

    assert len(charts) >= 4
    assert all(chart["drawn"] and chart["table"] for chart in charts), charts
    assert all(chart["points"] == chart["rows"] > 0 for chart in charts), charts
    check_page(page, "reports-campaign")
