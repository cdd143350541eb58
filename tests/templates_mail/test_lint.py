"""The linter: errors block scheduling, warnings point at the offending element."""

import pytest

from campaigns.lint import lint
from templates_mail.lint import html_problems, missing_placeholders
from tests.factories import CampaignFactory, LayoutFactory, SenderIdentityFactory
from tests.templates_mail.helpers import block, text

pytestmark = pytest.mark.django_db
WORDS = "<p>" + "A calm, informative paragraph about our products and news. " * 12 + "</p>"


def codes(campaign, *, blocking: bool | None = None) -> list[str]:
    return [issue.code for issue in lint(campaign) if blocking is None or issue.blocking == blocking]


def test_layout_without_unsubscribe_link_is_an_error():
    layout = LayoutFactory(html="<html><body>{{ content }} {{ postal_address }}</body></html>")
    assert "no_unsubscribe" in codes(CampaignFactory(layout=layout, body=[text(WORDS)]), blocking=True)


def test_layout_without_postal_address_is_an_error():
    layout = LayoutFactory(html='<html><body>{{ content }}<a href="{{ unsubscribe_url }}">u</a></body></html>')
    assert "no_postal_address" in codes(CampaignFactory(layout=layout, body=[text(WORDS)]), blocking=True)


def test_sender_without_postal_address_and_no_default_is_an_error(settings):
    settings.POSTAL_ADDRESS = ""
    campaign = CampaignFactory(sender=SenderIdentityFactory(postal_address=""), body=[text(WORDS)])
    assert "no_postal_address" in codes(campaign, blocking=True)


def test_empty_subject_is_an_error():
    assert "empty_subject" in codes(CampaignFactory(subject="  ", body=[text(WORDS)]), blocking=True)


def test_unknown_merge_field_is_an_error_with_its_position():
    issues = lint(CampaignFactory(body=[text("<p>Hi {{ contact.nickname }}</p>")]))
    merge_errors = [issue for issue in issues if issue.code == "merge"]
    assert merge_errors[0].blocking
    assert merge_errors[0].message.startswith("block 1 (text), text, line 1, column 7: unknown merge field")


def test_unknown_merge_field_in_subject_b_is_an_error():
    assert "merge" in codes(CampaignFactory(subject_b="{{ contact.nickname }}", body=[text(WORDS)]), blocking=True)


def test_broken_raw_html_is_an_error():
    campaign = CampaignFactory(body=[text(WORDS), block("html", html="<table><tr><td><div>oops</td></tr></table>")])
    issues = [issue for issue in lint(campaign) if issue.code == "broken_html"]
    assert issues[0].blocking
    assert "block 2 (html): line 1, column 16: <div> is never closed" in issues[0].message


def test_html_with_optional_end_tags_is_not_broken():
    assert html_problems("<table><tr><td>a<td>b</table><ul><li>x<li>y</ul><p>p<br><img src=x>") == []


def test_a_stray_end_tag_is_broken():
    assert html_problems("<p>x</p></div>") == ["line 1: stray </div>"]


def test_a_clean_campaign_has_no_issue_at_all():
    assert lint(CampaignFactory(subject="Our autumn news", body=[text(WORDS)])) == []


def test_html_over_gmails_clipping_limit_is_a_warning():
    campaign = CampaignFactory(body=[text(WORDS * 160)])
    assert "too_large" in codes(campaign, blocking=False)


def test_image_without_alt_or_width_is_a_warning_naming_the_image():
    campaign = CampaignFactory(body=[text(WORDS), block("html", html='<img src="https://cdn.example.com/a.png">')])
    issue = next(issue for issue in lint(campaign) if issue.code == "image_attributes")
    assert not issue.blocking
    assert 'src="https://cdn.example.com/a.png"' in issue.element


def test_image_heavy_mail_with_little_text_is_a_warning():
    images = "".join(f'<img src="https://cdn.example.com/{n}.png" alt="x" width="600">' for n in range(4))
    campaign = CampaignFactory(body=[block("html", html=images + "<p>Buy</p>")])
    assert "image_heavy" in codes(campaign, blocking=False)


def test_plain_http_link_is_a_warning_naming_the_url():
    campaign = CampaignFactory(body=[text(WORDS + '<p><a href="http://example.com/old">old</a></p>')])
    issue = next(issue for issue in lint(campaign) if issue.code == "http_link")
    assert issue.element == "http://example.com/old"


def test_more_than_fifty_links_is_a_warning():
    links = "".join(f'<a href="https://example.com/{n}">{n}</a> ' for n in range(51))
    assert "too_many_links" in codes(CampaignFactory(body=[text(WORDS + f"<p>{links}</p>")]), blocking=False)


def test_long_subject_is_a_warning():
    assert "long_subject" in codes(CampaignFactory(subject="x" * 81, body=[text(WORDS)]), blocking=False)


def test_shouting_subject_is_a_warning():
    assert "all_caps" in codes(CampaignFactory(subject="HUGE AUTUMN SALE TODAY", body=[text(WORDS)]), blocking=False)


def test_spam_phrase_in_subject_or_body_is_a_warning():
    assert "spam_phrase" in codes(CampaignFactory(subject="Act now, 100% free", body=[text(WORDS)]), blocking=False)
    assert "spam_phrase" in codes(CampaignFactory(body=[text(WORDS + "<p>Click here!!!</p>")]), blocking=False)


def test_errors_come_before_warnings():
    campaign = CampaignFactory(subject="", subject_b="x" * 90, body=[text(WORDS)])
    blocking_flags = [issue.blocking for issue in lint(campaign)]
    assert blocking_flags == sorted(blocking_flags, reverse=True)
    assert blocking_flags[0] and not blocking_flags[-1]


def test_missing_preference_link_is_a_warning():
    layout = LayoutFactory(
        html='<html><body>{{ content }}<a href="{{ unsubscribe_url }}">u</a> {{ postal_address }}</body></html>'
    )
    assert "no_preferences" in codes(CampaignFactory(layout=layout, body=[text(WORDS)]), blocking=False)


def test_a_layout_must_carry_content_slot_and_footer_placeholders():
    assert missing_placeholders("<p>{{ content }} {{ unsubscribe_url }}</p>") == ["preferences_url", "postal_address"]


def test_a_personalised_link_is_a_warning_because_it_is_not_tracked():
    body = [text(WORDS + '<p><a href="https://shop.example.com/?e={{ contact.email }}">me</a></p>')]
    issue = next(issue for issue in lint(CampaignFactory(body=body)) if issue.code == "untracked_link")
    assert (issue.blocking, issue.element) == (False, "https://shop.example.com/?e={{ contact.email }}")
