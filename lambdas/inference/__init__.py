"""The inference function: S3 object → SageMaker → DynamoDB result + SNS outcome."""
