from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from announcements import selectors, services
from announcements.forms import AnnouncementForm
from utils.forms import attach_errors
from utils.params import parse_ids
from utils.permissions import role_required


@login_required
@require_GET
def feed(request):
    """The feed fragment dashboards load, and reload on a live 'announcement' event."""
    items, unread = selectors.feed_with_unread(user=request.user)
    return render(request, "announcements/_feed.html", {"items": items[:5], "unread": unread, "compact": True})


@login_required
@require_GET
def index(request):
    items, unread = selectors.feed_with_unread(user=request.user)
    fragment = request.htmx and not request.htmx.boosted  # a live refresh of the full list
    template = "announcements/_feed.html" if fragment else "announcements/index.html"
    return render(request, template, {"items": items, "unread": unread})


@login_required
@require_POST
def mark_read(request):
    ids = parse_ids(request, "id")
    if request.POST.get("all") == "1":
        ids = [item["id"] for item in selectors.feed_for(user=request.user)]
    else:  # only what this person can see
        visible = {item["id"] for item in selectors.feed_for(user=request.user)}
        ids = [i for i in ids if i in visible]
    services.announcement_mark_read(user=request.user, announcement_ids=ids)
    if request.htmx:
        return feed(request) if request.POST.get("fragment") == "feed" else index(request)
    return redirect("announcements:index")


@login_required
@require_GET
def attachment(request, announcement_id):
    announcement = selectors.announcement_get_for_viewer(user=request.user, announcement_id=announcement_id)
    if not announcement.attachment:
        raise Http404("No attachment")
    name = announcement.attachment.name.rsplit("/", 1)[-1]
    return FileResponse(announcement.attachment.open("rb"), as_attachment=True, filename=name)


@role_required(Role.ADMIN, Role.TEACHER)
@require_http_methods(["GET", "POST"])
def manage(request):
    form = AnnouncementForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            announcement = services.announcement_create(author=request.user, **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Posted '{announcement.title}' to {announcement.audience_label()}.")
            return redirect("announcements:manage")
    rows = list(selectors.manage_list(user=request.user)[:100])
    return render(request, "announcements/manage.html", {"form": form, "rows": rows})


@role_required(Role.ADMIN, Role.TEACHER)
@require_http_methods(["GET", "POST"])
def edit(request, announcement_id):
    announcement = selectors.announcement_get_for_editor(user=request.user, announcement_id=announcement_id)
    initial = {
        f: getattr(announcement, f)
        for f in (
            "title",
            "body",
            "audience",
            "target_role",
            "target_programme",
            "target_year",
            "target_section",
            "urgent",
            "publish_at",
            "expire_at",
        )
    }
    form = AnnouncementForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.announcement_update(announcement=announcement, actor=request.user, **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Announcement saved.")
            return redirect("announcements:manage")
    return render(request, "announcements/edit.html", {"form": form, "announcement": announcement})


@role_required(Role.ADMIN, Role.TEACHER)
@require_POST
def delete(request, announcement_id):
    announcement = selectors.announcement_get_for_editor(user=request.user, announcement_id=announcement_id)
    services.announcement_delete(announcement=announcement, actor=request.user)
    messages.success(request, "Announcement deleted.")
    return redirect("announcements:manage")
