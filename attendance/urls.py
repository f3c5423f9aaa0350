from django.urls import path

from attendance import views

app_name = "attendance"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("class/<int:entry_id>/<str:date>/", views.register, name="register"),
    path("class/<int:entry_id>/<str:date>/cover/", views.cover, name="cover"),
    path("leave/", views.leave, name="leave"),
    path("leave/<int:leave_id>/decide/", views.leave_decide, name="leave_decide"),
    path("me/", views.report_me, name="me"),
    path("reports/classes/", views.teacher_report, name="teacher_report"),
    path("reports/institute/", views.admin_report, name="admin_report"),
]
