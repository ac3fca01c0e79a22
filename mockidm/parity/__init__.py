"""Parity with a real IDM: record its traffic (`record`), replay it against the mock and report
every difference (`compare`). Hosts: the recorder talks HTTP only; the comparison reaches the
mock through the facade and replays over HTTP."""
