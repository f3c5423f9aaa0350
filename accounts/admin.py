from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import GuardianLink, Institute, Invitation, StudentProfile, TeacherProfile, User


@admin.register(User)
class CampusUserAdmin(UserAdmin):
    list_display = ("username", "email", "full_name", "role", "institute", "is_active")
    list_filter = ("role", "institute", "is_active")
    fieldsets = UserAdmin.fieldsets + (("Campus", {"fields": ("institute", "role", "full_name", "phone")}),)


admin.site.register(Institute)
admin.site.register(StudentProfile)
admin.site.register(TeacherProfile)
admin.site.register(GuardianLink)
admin.site.register(Invitation)
