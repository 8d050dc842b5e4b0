"""The processes: admission, review and exit command handlers over a unit of work; sweeps."""
