import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local 'admin' superuser once, with a random password kept in var/admin_password."

    def handle(self, *args, **options) -> None:
        password_file = settings.VAR_DIR / "admin_password"
        user_model = get_user_model()
        if not user_model.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "admin@example.com", password)
            password_file.write_text(password)
            password_file.chmod(0o600)
        if password_file.exists():
            self.stdout.write(f"  Log in as: admin / {password_file.read_text().strip()}")
        else:
            self.stdout.write("  Log in as: admin (password set by you earlier)")
