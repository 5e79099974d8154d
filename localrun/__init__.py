"""The local run: the real stack deployed into moto, the real handler run against it.

Where each AWS service's behaviour lives (STYLE.md rule 19):

    services/<service>.py   one module per service: the creators of the resource types the program
                            declares, and what that service does differently from moto
      s3.py                 creators; S3Deliveries (notifications as S3 sends them); BucketPolicyFixes;
                            the key-length limit
      sns.py                creators; SnsDeliveries (subscriptions); SnsFaultInjector; message-size limits
      sqs.py                creators; the message-size limit (moto enforces it)
      events.py             creators; EventBridgeDeliveries (Lambda and SNS rule targets)
      lambda_.py            creators (functions, permissions, event source mapping, invoke configs);
                            the async payload limit
      sagemaker.py          creators; what a redeploy replaces (model, endpoint configuration) and
                            updates (UpdateEndpoint, which moto lacks); the endpoint-state event;
                            the InvokeEndpoint body limits
      kms.py, iam.py, dynamodb.py, logs.py, cloudwatch.py   creators
      base.py               what creators share (Inputs, Pulumi-style names, UnsupportedResourceType)
    moto_mocks.py           the Pulumi mocks and the one dispatch table, CREATORS; a redeploy's
                            UPDATES (in place) and REPLACED_ON_CHANGE, any other change refused
    lambda_/                the Lambda side: runtime.py (invocations, async retries, destinations),
                            environment.py (an execution environment: a process per function,
                            stale once its function's configuration changes),
                            bootstrap.py (the runtime inside that process), sqs_poller.py (the SQS
                            event source mapping)
    access.py               every access check: resource policies, AccessGuard, least privilege,
                            AccessEnforcer
    deliveries.py           what the services' delivery bridges share (the guard, the trace, problems)
    limits.py               the table of AWS size limits, assembled from the services, and LimitEnforcer
    patches.py              the one registry for every patch of a third-party internal
    standin_model.py        a labelled STAND-IN per Hugging Face task, chosen by the endpoint model's
                            HF_TASK: text-classification, image-classification (by the image's
                            header), image-feature-extraction; StandInEndpoint answers InvokeEndpoint
    emulator.py             LocalCloud: puts the pieces together (deploy, redeploy); demo.py (the
                            samples/ files, images included), local_cloud.py run it
    program.py, calls.py, trace.py, clock.py, delivery_contract.py
"""
