#!/usr/bin/env python
"""Django's command-line utility for Rapport."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.env import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        sys.stderr.write(f"rapport: configuration error: {error}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("rapport: interrupted\n")
        sys.exit(130)
    except Exception as error:
        if "--traceback" in sys.argv:
            raise
        from config.cli import reason

        sys.stderr.write(f"rapport: {reason(error)}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
