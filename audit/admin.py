from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "institute", "actor", "action", "summary")
    list_filter = ("action",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
