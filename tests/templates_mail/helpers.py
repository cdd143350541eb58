"""Stream-field bodies for tests, written as the raw JSON the editor stores."""


def block(kind: str, audience: dict | None = None, **value) -> dict:
    if audience:
        value["audience"] = audience
    return {"type": kind, "value": value}


def text(html: str, audience: dict | None = None) -> dict:
    return block("text", audience, text=html)


def only_field(field: str, value: str, operator: str = "is") -> dict:
    return {"segment": None, "field": field, "operator": operator, "value": value}


def only_segment(segment) -> dict:
    return {"segment": str(segment.pk), "field": None, "operator": "is", "value": ""}
