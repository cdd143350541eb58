"""Links that run code, scripts and event handlers: refused by the blocks, errors in the linter."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.lint import lint
from templates_mail.blocks import ButtonBlock, CampaignBodyBlock, CardBlock
from templates_mail.safety import is_safe_url, script_problems
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import block, text

pytestmark = pytest.mark.django_db
WORDS = "<p>" + "A calm, informative paragraph about our products and news. " * 12 + "</p>"


def clean_button(url: str):
    button = ButtonBlock()
    return button.clean(button.to_python({"label": "Go", "url": url, "align": "center"}))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "jav\tascript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "{{ contact.company }}",
    ],
)
def test_a_button_with_a_link_that_is_not_http_mailto_or_tel_is_refused(url):
    with pytest.raises(ValidationError):
        clean_button(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/a?b=1",
        "http://example.com",
        "mailto:sales@example.com",
        "tel:+441234567",
        "/offers",
        "#top",
        "{{ web_version_url }}",
        "https://shop.example.com/?ref={{ contact.grade }}",
    ],
)
def test_web_mail_and_phone_links_are_accepted(url):
    assert clean_button(url)["url"] == url


def test_a_card_link_is_checked_too():
    card = CardBlock()
    with pytest.raises(ValidationError):
        card.clean(card.to_python({"title": "T", "url": "javascript:void(0)"}))


def test_a_body_with_an_unsafe_button_does_not_validate():
    body = CampaignBodyBlock()
    value = body.to_python([block("button", label="Go", url="javascript:alert(1)", align="center")])
    with pytest.raises(ValidationError):
        body.clean(value)


def test_only_signed_link_placeholders_may_start_a_link():
    assert is_safe_url("{{ unsubscribe_url }}")
    assert not is_safe_url("{{ contact.email }}")


@pytest.mark.parametrize(
    "html, expected",
    [
        ("<script>alert(1)</script>", "line 1: <script> is not allowed"),
        ('<img src="x" onerror="alert(1)">', "line 1: event handler onerror= on <img> is not allowed"),
        ('<a href="javascript:alert(1)">x</a>', "line 1: javascript: link in <a href> is not allowed"),
        (
            '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
            "line 1: javascript: link in <a xlink:href> is not allowed",
        ),
        ('<iframe src="https://evil.example"></iframe>', "line 1: <iframe> is not allowed"),
    ],
)
def test_scripts_event_handlers_and_script_links_are_found(html, expected):
    assert script_problems(html) == [expected]


def test_inline_and_attached_images_are_not_scripts():
    assert script_problems('<img src="data:image/png;base64,AAAA" alt="x"><img src="cid:logo">') == []


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)" alt="x" width="1">',
        '<a href="javascript:x()">x</a>',
    ],
)
def test_raw_html_with_a_script_is_a_blocking_lint_error(html):
    campaign = CampaignFactory(body=[text(WORDS), block("html", html=html)])
    issues = [issue for issue in lint(campaign) if issue.code == "script"]
    assert issues and issues[0].blocking
    assert issues[0].message.startswith("block 2 (html): line 1")


def test_a_button_saved_before_the_check_is_a_blocking_lint_error():
    campaign = CampaignFactory(
        body=[text(WORDS), block("button", label="Go", url="javascript:alert(1)", align="center")]
    )
    assert any(issue.code == "script" and issue.blocking for issue in lint(campaign))
