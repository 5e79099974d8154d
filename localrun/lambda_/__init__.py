"""The Lambda side of the local run, together: invocations and asynchronous retries, destinations and
recursion (`runtime.py`), execution environments, a process each (`environment.py`, with the runtime that
runs inside it, `bootstrap.py`), and the SQS event source poller (`sqs_poller.py`)."""
