"""The merge sandbox: plain values only, errors with positions, escaping by default."""

import pytest

from templates_mail.merge import MergeError, RenderContext, check, compile_template


def render(source: str, values: dict | None = None, *, escape: bool = True, custom_keys=frozenset()) -> str:
    template = compile_template(source, "body", custom_keys)
    return template.render(RenderContext(values or {}, escape=escape))


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.delete }}",
        "{{ contact.save }}",
        "{{ contact.owner.password }}",
        "{{ contact.subscriptions.all }}",
        "{{ contact.__class__ }}",
        "{{ contact.first_name.upper }}",
        "{{ settings.SECRET_KEY }}",
        "{{ request.user }}",
        "{{ contacts.0.email }}",
        "{{ campaign.messages }}",
    ],
)
def test_anything_beyond_the_recipients_plain_fields_is_an_error(source):
    with pytest.raises(MergeError, match="merge field"):
        compile_template(source, "body")


@pytest.mark.parametrize(
    "source", ["{% load static %}", "{% include 'secret.html' %}", "{% debug %}", "{% for c in contacts %}"]
)
def test_only_if_tags_exist(source):
    with pytest.raises(MergeError, match="unknown tag"):
        compile_template(source, "body")


def test_call_syntax_is_not_a_merge_field():
    with pytest.raises(MergeError, match="not a merge field"):
        compile_template("{{ contact.delete() }}", "body")


def test_unknown_filter_is_an_error():
    with pytest.raises(MergeError, match='unknown filter "safe"'):
        compile_template("{{ contact.first_name|safe }}", "body")


def test_error_reports_where_line_and_column():
    problems = check("Hello\n  dear {{ contact.nme }}!", "subject")
    assert len(problems) == 1
    assert (problems[0].where, problems[0].line, problems[0].column) == ("subject", 2, 8)
    assert str(problems[0]).startswith("subject, line 2, column 8: unknown merge field")


def test_every_problem_is_reported_not_only_the_first():
    problems = check("{{ contact.a }} and {{ contact.b }}", "body")
    assert [problem.column for problem in problems] == [1, 21]


def test_unclosed_if_points_at_the_if():
    problems = check('x\n{% if contact.grade == "A" %}VIP', "block 2 (text)")
    assert (problems[0].line, problems[0].column) == (2, 1)
    assert "never closed" in problems[0].message


def test_stray_endif_is_an_error():
    with pytest.raises(MergeError, match="without an open"):
        compile_template("{% endif %}", "body")


def test_default_filter_fills_empty_values():
    assert render('Hi {{ contact.first_name|default:"there" }}', {"contact.first_name": ""}) == "Hi there"
    assert render('Hi {{ contact.first_name|default:"there" }}', {"contact.first_name": "Ann"}) == "Hi Ann"


def test_values_are_html_escaped_by_default():
    assert render("{{ contact.company }}", {"contact.company": '<script>"x"</script>'}) == (
        "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"
    )


def test_plain_text_templates_are_not_escaped():
    assert render("{{ contact.company }}", {"contact.company": "A & B"}, escape=False) == "A & B"


def test_conditionals_choose_one_branch():
    source = '{% if contact.grade == "A" %}gold{% elif contact.grade %}member{% else %}guest{% endif %}'
    assert render(source, {"contact.grade": "A"}) == "gold"
    assert render(source, {"contact.grade": "C"}) == "member"
    assert render(source, {"contact.grade": ""}) == "guest"


def test_negated_condition():
    assert render("{% if not contact.company %}no company{% endif %}", {"contact.company": ""}) == "no company"


def test_defined_custom_fields_resolve_and_undefined_ones_are_errors():
    values = {"contact.custom.tier": "gold"}
    assert render("{{ contact.custom.tier|upper }}", values, custom_keys=frozenset({"tier"})) == "GOLD"
    with pytest.raises(MergeError, match=r'unknown merge field "contact\.custom\.tier"'):
        compile_template("{{ contact.custom.tier }}", "body")


def test_quotes_stored_as_entities_by_the_rich_text_editor_still_parse():
    assert render("{{ contact.first_name|default:&quot;there&quot; }}", {}) == "there"
