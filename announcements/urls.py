from django.urls import path

from announcements import views

app_name = "announcements"

urlpatterns = [
    path("", views.index, name="index"),
    path("feed/", views.feed, name="feed"),
    path("read/", views.mark_read, name="mark_read"),
    path("manage/", views.manage, name="manage"),
    path("<int:announcement_id>/edit/", views.edit, name="edit"),
    path("<int:announcement_id>/delete/", views.delete, name="delete"),
    path("<int:announcement_id>/attachment/", views.attachment, name="attachment"),
]
