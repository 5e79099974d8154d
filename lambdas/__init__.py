"""Lambda function code deployed by the stack (one package per function)."""
