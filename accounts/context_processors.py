from accounts.models import Role

_NAV = {
    Role.STUDENT: [
        ("accounts:home", "Dashboard"),
        ("timetable:mine", "Timetable"),
        ("enrollment:my_subjects", "Subjects"),
        ("attendance:me", "Attendance"),
        ("attendance:leave", "Leave"),
        ("ai_features:index", "Study assistant"),
        ("accounts:profile", "My profile"),
    ],
    Role.GUARDIAN: [
        ("accounts:home", "Dashboard"),
        ("timetable:mine", "Timetables"),
        ("attendance:me", "Attendance"),
        ("attendance:leave", "Leave"),
        ("accounts:guardian_link", "Link a child"),
        ("ai_features:index", "Study assistant"),
        ("accounts:profile", "My profile"),
    ],
    Role.TEACHER: [
        ("accounts:home", "Dashboard"),
        ("attendance:today", "Classes"),
        ("attendance:teacher_report", "Reports"),
        ("announcements:manage", "Post"),
        ("timetable:mine", "Timetable"),
        ("accounts:people", "Students"),
        ("accounts:profile", "My profile"),
    ],
    Role.COUNSELOR: [
        ("accounts:home", "Dashboard"),
        ("accounts:people", "Students"),
        ("accounts:profile", "My profile"),
    ],
    Role.ADMIN: [
        ("accounts:home", "Dashboard"),
        ("enrollment:index", "Catalogue"),
        ("timetable:index", "Timetables"),
        ("enrollment:manage", "Enrollment"),
        ("attendance:admin_report", "Attendance"),
        ("accounts:people", "People"),
        ("accounts:invitations", "Invitations"),
        ("announcements:manage", "Announcements"),
        ("audit:log", "Audit log"),
    ],
}


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": _NAV.get(user.role, [])}
