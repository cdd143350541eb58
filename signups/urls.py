from django.urls import path

from signups import views

urlpatterns = [
    path("f/<slug:slug>/", views.signup, name="signups_form"),
    path("f/<slug:slug>/challenge/", views.challenge, name="signups_challenge"),
    path("f/<slug:slug>/confirm/<str:token>/", views.confirm, name="signups_confirm"),
]
