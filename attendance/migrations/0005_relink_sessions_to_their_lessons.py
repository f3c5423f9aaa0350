from django.db import migrations


def relink(apps, schema_editor):
    from timetable.history import relink_orphan_sessions

    relink_orphan_sessions(
        ClassSession=apps.get_model("attendance", "ClassSession"),
        TimetableEntry=apps.get_model("timetable", "TimetableEntry"),
        Room=apps.get_model("timetable", "Room"),
    )


class Migration(migrations.Migration):
    """Registers whose lesson was deleted by a week replaced before versions existed get a lesson again."""

    dependencies = [
        ("attendance", "0004_session_keeps_its_lesson"),
        ("timetable", "0003_entry_versions"),
    ]

    operations = [migrations.RunPython(relink, migrations.RunPython.noop)]
