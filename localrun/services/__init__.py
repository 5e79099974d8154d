"""One module per AWS service: the creators of the resource types the program declares, and what the
service does differently from moto (deliveries, fixes, limits, injected faults).

`localrun/moto_mocks.py` dispatches each declared type to its creator here (`CREATORS`); the map of
which file holds what is the `localrun` package docstring.
"""
