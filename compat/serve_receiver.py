"""The application's event endpoint, in Python: verifies every event `hanpay serve` sends with
the official `standardwebhooks` package and records it.

Usage: serve_receiver.py SECRET PORT_FILE LOG_FILE. It listens on 127.0.0.1 (a free port, written
to PORT_FILE), appends `ok <type> <id>` or `FAILED <reason>` to LOG_FILE per delivery, and
answers 204 to a verified event, 400 otherwise.
"""
import http.server
import json
import sys

from standardwebhooks.webhooks import Webhook

secret, port_file, log_file = sys.argv[1:4]
webhook = Webhook(secret)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k: v for k, v in self.headers.items()}
        try:
            event = webhook.verify(body, headers)
            assert event["id"] == headers.get("webhook-id") or event["id"] == headers.get(
                "Webhook-Id"
            ), "the body's id is not the webhook-id"
            assert isinstance(event["amount"], int) or event["amount"] is None, "amount is not an integer"
            line = f"ok {event['type']} {event['id']}\n"
            status = 204
        except Exception as e:  # noqa: BLE001 - every failure is reported
            line = f"FAILED {type(e).__name__}: {e}\n"
            status = 400
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(line)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
