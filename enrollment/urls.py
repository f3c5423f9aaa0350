from django.urls import path

from enrollment import enrollment_views, views

app_name = "enrollment"

urlpatterns = [
    # The catalogue (admin).
    path("catalogue/", views.index, name="index"),
    path("catalogue/<slug:key>/", views.entity_list, name="list"),
    path("catalogue/<slug:key>/<int:pk>/", views.entity_edit, name="edit"),
    path("catalogue/<slug:key>/<int:pk>/delete/", views.entity_delete, name="delete"),
    # Enrolments: a student's own, and the office's tools.
    path("enrollment/mine/", enrollment_views.my_subjects, name="my_subjects"),
    path("enrollment/mine/<int:subject_id>/enrol/", enrollment_views.my_enrol, name="my_enrol"),
    path("enrollment/mine/withdraw/<int:enrollment_id>/", enrollment_views.my_withdraw, name="my_withdraw"),
    path("enrollment/", enrollment_views.manage, name="manage"),
    path("enrollment/sections/<int:section_id>/", enrollment_views.section_detail, name="section"),
    path("enrollment/sections/<int:section_id>/enrol-all/", enrollment_views.section_enrol, name="section_enrol"),
    path("enrollment/sections/<int:section_id>/promote/", enrollment_views.section_promote, name="section_promote"),
    path("enrollment/withdraw/<int:enrollment_id>/", enrollment_views.withdraw, name="withdraw"),
    path("enrollment/import/students/", enrollment_views.import_students, name="import_students"),
    path("enrollment/import/enrollments/", enrollment_views.import_enrollments, name="import_enrollments"),
]
