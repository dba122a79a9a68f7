"""Shows what the local functions log that a person running the stack needs to see: the
reference KYC's verification codes (in production an email or SMS would carry them), warnings
and errors. The emulator keeps Lambda output in CloudWatch Logs, as AWS does; this polls it."""

from __future__ import annotations

import json
import threading
import time

INTERESTING = ("verification code", '"level":"WARN"', '"level":"ERROR"')


def readable(message: str) -> str:
    """A JSON log line as `function: LEVEL message key=value ...`; other lines as they are."""
    try:
        record = json.loads(message)
    except ValueError:
        return message.strip()
    fields = dict(record.get("fields", {}))
    text = fields.pop("message", "")
    extras = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"{record.get('level', '')} {text} {extras}".strip()


class LambdaLogTail:
    def __init__(self, aws, say=print, interval: float = 1.0):
        self.logs = aws.boto("logs")
        self.say = say
        self.interval = interval
        self.since = int(time.time() * 1000)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="lambda-logs", daemon=True)

    def start(self) -> "LambdaLogTail":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the emulator restarting must not end the tail
                continue

    def poll(self) -> None:
        newest = self.since
        for group in self.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/").get("logGroups", []):
            name = group["logGroupName"]
            events = self.logs.filter_log_events(logGroupName=name, startTime=self.since + 1).get("events", [])
            for event in events:
                newest = max(newest, event.get("timestamp", 0))
                message = event.get("message", "")
                if any(marker in message for marker in INTERESTING):
                    function = name.rsplit("/", 1)[-1]
                    self.say(f"[{function}] {readable(message)}")
        self.since = newest
