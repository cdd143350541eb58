from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.images.views.serve import ServeView

from dashboard.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("images/<str:signature>/<int:image_id>/<str:filter_spec>/", ServeView.as_view(), name="wagtailimages_serve"),
    path("", include("tracking.urls")),
    path("", include("privacy.urls")),
    path("", include("signups.urls")),
]

handler400 = "config.security.bad_request"
handler403 = "config.security.permission_denied"
handler404 = "config.security.page_not_found"
handler500 = "config.security.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
