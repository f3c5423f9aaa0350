from django.urls import path

from ai_features import views

app_name = "ai_features"

urlpatterns = [
    path("", views.index, name="index"),
    path("card/", views.card, name="card"),
    path("chats/new/", views.chat_new, name="chat_new"),
    path("chats/<uuid:session_id>/", views.chat_detail, name="chat"),
    path("chats/<uuid:session_id>/send/", views.chat_send, name="send"),
    path("chats/<uuid:session_id>/messages/<int:message_id>/stream/", views.answer_stream, name="stream"),
    path("chats/<uuid:session_id>/messages/<int:message_id>/retry/", views.retry, name="retry"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path(
        "recommendations/<int:recommendation_id>/<slug:action>/",
        views.recommendation_act,
        name="recommendation_act",
    ),
]
