"""Each person's own mail is routed to the transactional worker's queue."""

from importlib import import_module

import pytest
from celery import current_app
from django.conf import settings

from campaigns.transactional import TRANSACTIONAL_QUEUE


@pytest.mark.parametrize("name", settings.TRANSACTIONAL_TASKS)
def test_a_task_sending_one_persons_mail_is_routed_to_the_transactional_queue(name):
    module, task = name.rsplit(".", 1)
    assert getattr(import_module(module), task).name == name, "the route names a task that exists"
    assert current_app.amqp.router.route({}, name)["queue"].name == TRANSACTIONAL_QUEUE


def test_a_campaign_batch_stays_on_the_default_queue():
    assert current_app.amqp.router.route({}, "campaigns.tasks.send_batch")["queue"].name == "celery"
