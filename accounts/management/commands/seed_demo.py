import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load a realistic demo institute (idempotent). Size it with --students."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=60)
        parser.add_argument("--teachers", type=int, default=None)
        parser.add_argument("--print-logins", action="store_true", help="Only print one demo login per role.")

    def handle(self, *args, students, teachers, print_logins, **options):
        from accounts.demo import demo_logins, seed_demo

        if not print_logins:
            started = time.perf_counter()
            result = seed_demo(students=students, teachers=teachers)
            self.stdout.write(
                f"Demo data ready for {result['institute']}: {result['students']} new students, "
                f"{result['guardians']} new guardians, {result['lessons']} new lessons, "
                f"{result['enrolments']} new enrolments, {result['marks']} attendance marks "
                f"({time.perf_counter() - started:.1f}s)."
            )
        self.stdout.write("  Demo logins (username / password):")
        for role, username, password in demo_logins():
            self.stdout.write(f"    {role:<10} {username:<12} {password}")
