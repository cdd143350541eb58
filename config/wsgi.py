import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

# Imported once Django is set up: open pixels and click redirects skip Django's request
# cycle (see tracking/fastpath.py), everything else goes through it.
from tracking.fastpath import dispatcher  # noqa: E402

application = dispatcher(django_application)
