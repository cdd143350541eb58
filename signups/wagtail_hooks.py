from wagtail import hooks

from signups.viewsets import SignupsGroup


@hooks.register("register_admin_viewset")
def register_signups() -> SignupsGroup:
    return SignupsGroup()
