"""`python -m ops`: operate a deployed stack (dead-letter queues, redrive, reprocess and backfill, results).

Pure parts (no AWS): `outputs` (the stack outputs, validated), `dead_letters` (a DLQ message decoded to what
an operator needs and to the event that goes back), `s3_events` (S3 events in the shape each route's entry
delivers), `planning` (which objects a reprocess sends, with which sequencer). AWS glue, thin and boto3 only:
`aws`. The command line: `cli`.
"""
