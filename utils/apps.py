from django.apps import AppConfig


class UtilsConfig(AppConfig):
    name = "utils"
    verbose_name = "Shared utilities"
