from django.urls import path

from timetable import generation_views, views

app_name = "timetable"

urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/timetable.ics", views.ics_download, name="ics"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("terms/<int:term_id>/", views.overview, name="overview"),
    path("terms/<int:term_id>/import/", views.csv_import, name="import"),
    path("terms/<int:term_id>/sections/<int:section_id>/build/", views.builder, name="builder"),
    path("terms/<int:term_id>/sections/<int:section_id>/cell/<int:day>/<int:slot_id>/", views.cell, name="cell"),
    path("terms/<int:term_id>/sections/<int:section_id>/copy/", views.week_copy, name="copy"),
    path("terms/<int:term_id>/sections/<int:section_id>/clear/", views.week_clear, name="clear"),
    path("entries/<int:entry_id>/", views.entry_edit, name="entry_edit"),
    path("entries/<int:entry_id>/delete/", views.entry_delete, name="entry_delete"),
    path("sections/<int:section_id>/", views.section_week, name="section"),
    path("rooms/<int:room_id>/", views.room_week, name="room"),
    path("teachers/<int:teacher_id>/", views.teacher_week, name="teacher"),
    path("generate/", generation_views.generate, name="generate"),
    path("suggestions/<int:suggestion_id>/", generation_views.suggestion_detail, name="suggestion"),
    *[
        path(
            f"suggestions/<int:suggestion_id>/{action}/",
            generation_views.suggestion_action,
            {"action": action},
            name=f"suggestion_{action}",
        )
        for action in ("cancel", "approve", "reject", "implement")
    ],
]
