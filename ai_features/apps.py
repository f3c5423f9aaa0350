from django.apps import AppConfig


class AiFeaturesConfig(AppConfig):
    name = "ai_features"
    verbose_name = "AI study assistant"
