"""Long work has its own queue: every task of the project is classified and routed to its queue."""

from django.conf import settings

from config.celery_app import app

# Every task of the project, by the queue it must go to. A new task fails the test below until it is put in one
# of these lists (and, if it takes seconds or more, in settings.LONG_TASKS).
LONG = {
    "timetable.tasks.suggestion_generate_task",
    "ai_features.tasks.recommendations_run_task",
    "ai_features.tasks.recommendations_institute_task",
    "ai_features.tasks.recommendations_chunk_task",
}
SHORT = {
    "accounts.tasks.code_send_task",
    "accounts.tasks.invitation_send_task",
    "accounts.tasks.purge_expired_task",
    "announcements.tasks.announcement_fan_out_task",
    "announcements.tasks.announcements_publish_due_task",
    "attendance.tasks.register_saved_task",
    "utils.tasks.notify_batch_task",
    "utils.tasks.deliver_batch_task",
    "utils.tasks.purge_live_events_task",
    "utils.tasks.dispatch_sweep_task",
}


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_task_of_the_project_is_classified_and_routed_to_its_queue():
    app.loader.import_default_modules()  # the autodiscovered tasks modules
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == LONG | SHORT, "classify the new task as long or short (settings.LONG_TASKS)"
    assert set(settings.LONG_TASKS) == LONG
    assert {name: _queue_of(name) for name in ours} == {
        **{name: "long" for name in LONG},
        **{name: "default" for name in SHORT},
    }
    # Celery's own helpers (group/chord bookkeeping) stay with the short work.
    assert _queue_of("celery.chord_unlock") == "default"
