"""Issue 5's performance benchmarks (`make bench` = `python -m benchmarks`): batch latency against the
critical path and the sequential pattern, cold import, package size and memory. They print figures and
whether each target is met; nothing here asserts on time.
"""
