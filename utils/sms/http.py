"""A JSON-over-HTTP gateway: POST {"to", "text", "sender"} with a bearer token; 2xx with {"id"} is success.

The message's reference goes in the Idempotency-Key header (and the body), so a gateway that keeps
references answers a repeated attempt with the first message instead of sending it again.
"""

import json
import urllib.error
import urllib.request

from django.conf import settings

from utils.sms import SmsError


class HttpBackend:
    def __init__(self):
        self.url = settings.SMS_HTTP_URL
        self.token = settings.SMS_HTTP_TOKEN
        self.sender = settings.SMS_SENDER
        self.timeout = settings.SMS_HTTP_TIMEOUT

    def send(self, *, to: str, text: str, reference: str = "") -> str:
        fields = {"to": to, "text": text, "sender": self.sender}
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if reference:
            fields["reference"] = reference
            headers["Idempotency-Key"] = reference
        body = json.dumps(fields).encode()
        request = urllib.request.Request(  # noqa: S310 - the gateway URL comes from settings
            self.url,
            data=body,
            method="POST",
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - URL from settings
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            # 429 and 5xx may pass if tried later; other 4xx (bad number, bad token) will not.
            transient = exc.code == 429 or exc.code >= 500
            raise SmsError(f"gateway answered {exc.code}", transient=transient) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"gateway unreachable: {exc}", transient=True) from exc
        except ValueError as exc:
            raise SmsError("gateway answered something that is not JSON", transient=False) from exc
        return str(payload.get("id", ""))
