from django.contrib import admin

from ai_features.models import AIChat, ChatMessage, StudyRecommendation


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    fk_name = "chat"
    extra = 0
    fields = ("sender", "status", "message", "provider", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(AIChat)
class AIChatAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "student", "updated_at")
    list_select_related = ("user", "student__user")
    raw_id_fields = ("user", "student")
    inlines = [ChatMessageInline]


@admin.register(StudyRecommendation)
class StudyRecommendationAdmin(admin.ModelAdmin):
    list_display = ("title", "student", "type", "priority", "confidence", "status", "generated_on")
    list_filter = ("type", "status", "priority")
    list_select_related = ("student__user",)
    raw_id_fields = ("student",)
    filter_horizontal = ("subjects",)
