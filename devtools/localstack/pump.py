"""The local event pump: calls the app's scheduled and SQS handlers the way Lambda would.

Lambda is what fires schedules and drains queues in AWS; locally (moto cannot invoke functions) this pump does it,
with the same event shapes, so the handler code under test is the code deployed:
- every scheduled handler runs each `interval` seconds (their rate expressions are for AWS);
- each SQS event source long-polls its queue and gets batches of up to its `batch_size`; messages the handler
  reports in `batchItemFailures` (or all of them, if it raises) are left to reappear after their visibility timeout,
  the rest are deleted — Lambda's behaviour with `ReportBatchItemFailures`;
- each EventBridge rule (`@app.on_cw_event`) gets its events from a queue moto's EventBridge fills (rules.py), one
  invocation per event, as EventBridge invokes Lambda: a netweave poll request (a PutEvents from the API or the
  in-cluster relay) is polled at once, not at the next interval;
- batches of one queue are handled in parallel, up to the source's `maximum_concurrency`, as Lambda does: for a FIFO
  queue it runs at most one batch per message group at a time, so concurrency is bounded by the number of groups with
  messages waiting, and SQS keeps each group in order by handing out none of a group's messages while a batch holding
  some is in flight (AWS Lambda developer guide, "Configuring scaling behavior for SQS event source mappings").
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice.app import CloudWatchEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from chalicelib.observability import logger
from devtools.localstack.rules import create_rule_targets

ACCOUNT = "123456789012"


class EventPump:
    def __init__(self, app_module: ModuleType, session: Any, interval: float, region: str = "us-east-1") -> None:
        self.app_module = app_module
        self.session = session
        self.sqs = session.client("sqs")
        self.interval = interval
        self.region = region
        self.stop_event = threading.Event()
        sources = app_module.app.event_sources
        self.schedules = [s for s in sources if isinstance(s, ScheduledEventConfig)]
        self.queues = [s for s in sources if isinstance(s, SQSEventConfig)]
        self.rules = [s for s in sources if isinstance(s, CloudWatchEventConfig)]
        self.rule_queues: dict[str, str] = {}  # rule name -> queue URL, once play_rules made them
        self._threads: list[threading.Thread] = []
        self._urls: dict[str, str] = {}

    def _handler(self, handler_string: str) -> Any:
        return getattr(self.app_module, handler_string.rsplit(".", 1)[-1])

    def run_schedules_once(self) -> None:
        for source in self.schedules:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT,
                "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{source.name}"],
                "detail": {},
            }
            try:
                self._handler(source.handler_string)(event, _context(source.name))
            except Exception:
                logger.exception("scheduled handler failed", extra={"handler": source.name})

    def play_rules(self, stage: str) -> None:
        """Create the app's EventBridge rules in moto, each with a queue this pump drains into its function."""
        self.rule_queues = create_rule_targets(self.session, self.rules, stage)

    def drain_rule_once(self, rule: CloudWatchEventConfig, wait_seconds: int = 1) -> int:
        """Invoke the rule's function once per event waiting (EventBridge's asynchronous invocation: a failure is
        logged and the event dropped, as after Lambda's retries); returns how many events there were."""
        url = self.rule_queues[rule.name]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
                                            ).get("Messages", [])
        for message in messages:
            event = {"account": ACCOUNT, **json.loads(message["Body"])}
            try:
                self._handler(rule.handler_string)(event, _context(rule.name))
            except Exception:
                logger.exception("EventBridge-invoked handler failed", extra={"handler": rule.name})
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def drain_once(self, source: SQSEventConfig, wait_seconds: int = 1) -> int:
        """Receive one batch and hand it to the handler; returns how many messages it received."""
        received = self._receive(source, wait_seconds)
        if received:
            self._handle(source, received)
        return len(received)

    def _queue_url(self, source: SQSEventConfig) -> str:
        assert source.queue is not None
        if source.queue not in self._urls:
            self._urls[source.queue] = self.sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        return self._urls[source.queue]

    def _receive(self, source: SQSEventConfig, wait_seconds: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self._queue_url(source),
            MaxNumberOfMessages=min(source.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _handle(self, source: SQSEventConfig, received: list[dict[str, Any]]) -> None:
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT}:{source.queue}"
        event = {"Records": [_record(message, arn, self.region) for message in received]}
        failed = self._invoke(source, event, received)
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self._queue_url(source), Entries=entries)

    def _invoke(self, source: SQSEventConfig, event: dict[str, Any], received: list[dict[str, Any]]) -> set[str]:
        try:
            result = self._handler(source.handler_string)(event, _context(source.name))
        except Exception:
            logger.exception("SQS handler failed; the whole batch will be retried", extra={"handler": source.name})
            return {m["MessageId"] for m in received}
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        return {item["itemIdentifier"] for item in failures}

    def start(self, schedules_ran: bool = False) -> None:
        """Run the schedules every `interval` (the first time at once, or after one interval if `schedules_ran`) and
        drain every queue, each in a thread of its own."""
        self._threads.append(threading.Thread(target=self._schedule_loop, args=(schedules_ran,),
                                              name="pump-schedules", daemon=True))
        for source in self.queues:
            self._threads.append(
                threading.Thread(target=self._queue_loop, args=(source,), name=f"pump-{source.name}", daemon=True)
            )
        for rule in self.rules:
            if rule.name in self.rule_queues:
                self._threads.append(threading.Thread(target=self._rule_loop, args=(rule,), name=f"pump-{rule.name}",
                                                      daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _schedule_loop(self, wait_first: bool = False) -> None:
        if wait_first:
            self.stop_event.wait(self.interval)
        while not self.stop_event.is_set():
            self.run_schedules_once()
            self.stop_event.wait(self.interval)

    def _rule_loop(self, rule: CloudWatchEventConfig) -> None:
        while not self.stop_event.is_set():
            try:
                self.drain_rule_once(rule)
            except Exception:
                logger.exception("draining a rule's queue failed", extra={"rule": rule.name})
                self.stop_event.wait(1)

    def _queue_loop(self, source: SQSEventConfig) -> None:
        """One receiver per queue; its batches run on up to `maximum_concurrency` threads. The receiver alone asks
        SQS, so a group's next messages are handed out only after the batch holding its earlier ones is done."""
        limit = max(1, source.maximum_concurrency or 1)
        changed = threading.Condition()
        batches = {"running": 0}

        def finished(_: Future[None]) -> None:
            with changed:
                batches["running"] -= 1
                changed.notify_all()

        with ThreadPoolExecutor(limit, thread_name_prefix=f"pump-{source.name}") as pool:
            while not self.stop_event.is_set():
                with changed:
                    if not changed.wait_for(lambda: batches["running"] < limit, timeout=1):
                        continue
                    busy = batches["running"] > 0
                try:
                    # While batches run, ask without waiting: their groups' messages are held back, and moto's long
                    # poll spins (re-reading the queue) for as long as only held-back messages are there.
                    received = self._receive(source, wait_seconds=0 if busy else 1)
                except Exception:
                    logger.exception("draining a queue failed", extra={"queue": source.queue})
                    self.stop_event.wait(1)
                    continue
                with changed:
                    if not received:
                        if busy:
                            changed.wait(timeout=1)  # a batch that ends frees its message group
                        continue
                    batches["running"] += 1
                pool.submit(self._handle_logged, source, received).add_done_callback(finished)

    def _handle_logged(self, source: SQSEventConfig, received: list[dict[str, Any]]) -> None:
        try:
            self._handle(source, received)
        except Exception:
            logger.exception("handing a batch over failed", extra={"queue": source.queue})


def _record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def _context(function_name: str) -> LambdaContext:
    return LambdaContext(function_name=function_name, memory_size=512, max_runtime_ms=900_000)


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description="Run the app's scheduled and SQS handlers locally.")
    parser.add_argument("--app", default="app")
    parser.add_argument("--interval", type=float, default=float(os.environ.get("NETWEAVE_POLL_SECONDS", "5")))
    parser.add_argument("--ready-file", type=Path,
                        help="run every schedule once (the first inventory and deployment polls), then create this")
    args = parser.parse_args()
    pump = EventPump(importlib.import_module(args.app), boto3.session.Session(), args.interval)
    pump.play_rules(os.environ.get("NETWEAVE_STAGE", "dev"))
    logger.info("event pump started", extra={"schedules": len(pump.schedules), "queues": len(pump.queues)})
    if args.ready_file is not None:
        # What Lambda does after a deploy only once its schedule fires, done first here: `make run` announces the
        # stack only with an inventory stored (issue 16; infra/post_deploy.py does the same in AWS).
        pump.run_schedules_once()
        args.ready_file.write_text("first polls done\n")
    print(
        f"pump ready: {len(pump.schedules)} schedule(s) every {args.interval}s, {len(pump.queues)} queue(s), "
        f"{len(pump.rule_queues)} EventBridge rule(s)",
        flush=True,
    )
    pump.start(schedules_ran=args.ready_file is not None)
    try:
        pump.stop_event.wait()
    except KeyboardInterrupt:
        pump.stop()


if __name__ == "__main__":
    main()
