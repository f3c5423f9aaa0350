from django.contrib import admin

from enrollment.models import ClassSection, Prerequisite, Programme, Subject, Term, Topic

for model in (Programme, ClassSection, Term, Subject, Topic, Prerequisite):
    admin.site.register(model)
