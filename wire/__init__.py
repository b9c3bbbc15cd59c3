"""The signed report protocol shared by the agent and the hub: enrollment, reports, acks, keys.

Pure: documents as bytes in, verified values or a `ProtocolError` out. Neither side's I/O lives
here, so the agent and the hub cannot drift apart on what a valid document is.
"""
