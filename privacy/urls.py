from django.urls import path

from privacy import views

# Under the preference centre's own path: /p/<token> is tracking's page, these are ours.
urlpatterns = [
    path("p/<str:token>/data/", views.my_data, name="privacy_my_data"),
    path("p/<str:token>/data/delete/", views.delete_my_data, name="privacy_delete_my_data"),
    path("data/<str:token>", views.download, name="privacy_download"),
]
