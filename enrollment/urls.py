from django.urls import path

from enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:key>/", views.entity_list, name="list"),
    path("<slug:key>/<int:pk>/", views.entity_edit, name="edit"),
    path("<slug:key>/<int:pk>/delete/", views.entity_delete, name="delete"),
]
