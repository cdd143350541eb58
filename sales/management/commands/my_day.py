import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sales import my_day


class Command(BaseCommand):
    help = "One owner's open tasks: overdue, today and this week, in the owner's time zone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: options["username"]}).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        document = my_day.as_json(user)
        if options["json"]:
            self.stdout.write(json.dumps(document))
            return
        for bucket, tasks in document.items():
            self.stdout.write(f"{bucket}: {len(tasks)}")
            for task in tasks:
                self.stdout.write(f"  {task['due_at']}  {task['kind']:<9}  {task['contact']}")
