"""The Lambda side of the local run, together: execution environments and asynchronous invocation
(`runtime.py`: one environment per function, async retries, destinations, recursion) and the SQS
event source poller (`sqs_poller.py`)."""
