from django.urls import path, re_path

from tracking import views, webhooks

urlpatterns = [
    path("t/o/<str:token>", views.open_pixel, name="tracking_open"),
    path("t/c/<str:token>", views.click, name="tracking_click"),
    path("v/<str:token>", views.web_version, name="tracking_view"),
    path("u/<str:token>", views.unsubscribe, name="tracking_unsubscribe"),
    path("p/<str:token>", views.preferences, name="tracking_preferences"),
    path("a/<str:token>", views.answer, name="tracking_answer"),
    # django-anymail's tracking and inbound webhooks of the configured ESP, e.g. /esp/mailgun/tracking/
    re_path(r"^esp/(?P<path>.*)$", webhooks.esp_webhook, name="esp_webhook"),
]
