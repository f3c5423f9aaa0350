from django.contrib import admin
from django.urls import include, path

from utils.views import favicon

urlpatterns = [
    path("favicon.ico", favicon),
    path("", include("accounts.urls")),
    path("", include("enrollment.urls")),
    path("timetable/", include("timetable.urls")),
    path("announcements/", include("announcements.urls")),
    path("attendance/", include("attendance.urls")),
    path("notifications/", include("utils.urls")),
    path("audit/", include("audit.urls")),
    path("live/", include("utils.live_urls")),
    path("assistant/", include("ai_features.urls")),
    path("django-admin/", admin.site.urls),
]

handler400 = "utils.views.bad_request"
handler403 = "utils.views.permission_denied"
handler404 = "utils.views.page_not_found"
handler500 = "utils.views.server_error"
