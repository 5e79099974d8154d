"""One module per AWS service: the creators of the resource types the program declares.

`localrun/moto_mocks.py` dispatches each declared type to its creator here (`CREATORS`).
"""
