"""The demo message as a mailbox provider's filter sees it: SpamAssassin's local rules
(Debian's spamassassin, network tests off) score it well below the usual thresholds."""

import json
import re
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command

from contacts.models import Contact
from devtools.services import ensure_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def spamassassin() -> str:
    found = ensure_command("spamassassin", "spamassassin")
    if not found:
        pytest.skip("spamassassin is not installed and cannot be installed here")
    return found


def test_the_demo_message_scores_below_2_with_spamassassins_local_rules(spamassassin, tmp_path):
    out = StringIO()
    call_command("seed_demo", "--contacts", "5", "--json", stdout=out)
    campaign_id = json.loads(out.getvalue())["campaign"]
    out = StringIO()
    call_command("render_message", str(campaign_id), Contact.objects.order_by("pk").first().email, stdout=out)

    report = subprocess.run(
        [spamassassin, "-L", "-t"],
        input=out.getvalue().encode(),
        capture_output=True,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=600,
        check=False,
    ).stdout.decode()

    score = float(re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.M).group(1))
    assert score < 2, report[report.find("Content analysis details") :]
