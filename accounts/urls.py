from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_choose, name="register"),
    path("register/verify/", views.register_verify, name="register_verify"),
    path("register/verify/status/", views.register_code_status, name="register_code_status"),
    path("register/verify/resend/", views.register_resend, name="register_resend"),
    path("register/<slug:slug>/", views.register_student, name="register_student"),
    path("register/<slug:slug>/guardian/", views.register_guardian, name="register_guardian"),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/confirm/", views.password_reset_confirm, name="password_reset_confirm"),
    path("dashboard/student/", views.dashboard_student, name="dashboard_student"),
    path("dashboard/guardian/", views.dashboard_guardian, name="dashboard_guardian"),
    path("dashboard/teacher/", views.dashboard_teacher, name="dashboard_teacher"),
    path("dashboard/admin/", views.dashboard_admin, name="dashboard_admin"),
    path("dashboard/counselor/", views.dashboard_counselor, name="dashboard_counselor"),
    path("profile/", views.profile, name="profile"),
    path("people/", views.people, name="people"),
    path("people/<int:user_id>/active/", views.person_set_active, name="person_set_active"),
    path("students/<int:student_id>/", views.student_detail, name="student_detail"),
    path("students/<int:student_id>/link-code/", views.link_code_create, name="link_code_create"),
    path("guardian/link/", views.guardian_link, name="guardian_link"),
    path("invitations/", views.invitations, name="invitations"),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.invitation_action,
        {"action": "resend"},
        name="invitation_resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_action,
        {"action": "revoke"},
        name="invitation_revoke",
    ),
]
