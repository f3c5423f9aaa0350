from django.apps import AppConfig


class TimetableConfig(AppConfig):
    name = "timetable"
    verbose_name = "Timetables"

    def ready(self):
        from timetable import catalogue  # noqa: F401  registers rooms, slots, ... as catalogue pages
