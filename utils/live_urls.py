from django.urls import path

from utils import live_views

app_name = "live"

urlpatterns = [
    path("events/", live_views.events, name="events"),
]
