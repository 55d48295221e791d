"""Read TensorBoard event files with Python's protobuf and crc32c, apart from chainrule's code.

Usage: read_tfevents.py FILE...      prints one JSON object per file:
  {"file": ..., "records": n, "torn_bytes": n, "events": [{"wall_time", "step", ...}]}
with non-finite scalars as the strings "nan", "inf" and "-inf".
       read_tfevents.py --run DIR    prints the run's scalars as TensorBoard shows them:
  {tag: [[step, value], ...]}, its files read in name order with the restart rule applied.
Every record's two masked CRC-32Cs are checked; a mismatch exits with status 1, naming the record. The Event
message is built here from event.proto's field numbers, without protoc.
"""
import json
import math
import os
import struct
import sys

import crc32c
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def build_event_class():
    fdp = descriptor_pb2.FileDescriptorProto(name="chainrule_tfevents_check.proto",
                                             package="tbcheck", syntax="proto3")
    log = fdp.message_type.add(name="SessionLog")
    status = log.enum_type.add(name="SessionStatus")
    for name, number in [("STATUS_UNSPECIFIED", 0), ("START", 1), ("STOP", 2), ("CHECKPOINT", 3)]:
        status.value.add(name=name, number=number)
    log.field.add(name="status", number=1, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                  type_name=".tbcheck.SessionLog.SessionStatus")

    summary = fdp.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    value.field.add(name="tag", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL,
                    oneof_index=0)
    summary.field.add(name="value", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=".tbcheck.Summary.Value")

    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    event.field.add(name="wall_time", number=1, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL,
                    oneof_index=0)
    event.field.add(name="summary", number=5, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".tbcheck.Summary", oneof_index=0)
    event.field.add(name="session_log", number=7, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".tbcheck.SessionLog", oneof_index=0)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    descriptor = pool.FindMessageTypeByName("tbcheck.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def number(x):
    """A float for JSON: NaN and the infinities as strings, which JSON cannot hold."""
    return x if math.isfinite(x) else str(x)


def masked(data):
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob, name):
    at = 0
    while len(blob) - at >= 12:
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        if length_crc != masked(header):
            sys.exit(f"{name}: record at byte {at}: the length's masked CRC-32C does not match")
        if len(blob) - at < 12 + length + 4:
            break
        data = blob[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        if data_crc != masked(data):
            sys.exit(f"{name}: record at byte {at}: the data's masked CRC-32C does not match")
        yield data
        at += 16 + length
    yield len(blob) - at


def read_file(name, event_class):
    """One file's events as dicts, and the number of bytes of a torn last record."""
    with open(name, "rb") as f:
        blob = f.read()
    events = []
    torn = 0
    for item in records(blob, name):
        if isinstance(item, int):
            torn = item
            continue
        e = event_class()
        e.ParseFromString(item)
        out = {"wall_time": e.wall_time, "step": e.step}
        what = e.WhichOneof("what")
        if what == "file_version":
            out["file_version"] = e.file_version
        elif what == "summary":
            out["scalars"] = [{"tag": v.tag, "value": v.simple_value}
                              for v in e.summary.value if v.WhichOneof("value") == "simple_value"]
        elif what == "session_log":
            out["session_status"] = e.session_log.SessionStatus.Name(e.session_log.status)
        events.append(out)
    return events, torn


def read_run(directory, event_class):
    """A run's scalars as TensorBoard shows them: {tag: [(step, value), ...]} in step order.

    The files are read in name order; a SessionLog START after the run's first drops the
    values at its step and later (TensorBoard's restart rule); the last value per step wins.
    """
    series = {}
    seen_start = False
    for name in sorted(f for f in os.listdir(directory) if "tfevents" in f):
        for e in read_file(os.path.join(directory, name), event_class)[0]:
            if e.get("session_status") == "START":
                if seen_start:
                    for values in series.values():
                        for step in [s for s in values if s >= e["step"]]:
                            del values[step]
                seen_start = True
            for v in e.get("scalars", []):
                series.setdefault(v["tag"], {})[e["step"]] = v["value"]
    return {tag: sorted(values.items()) for tag, values in series.items()}


def main():
    event_class = build_event_class()
    if sys.argv[1:2] == ["--run"]:
        run = read_run(sys.argv[2], event_class)
        print(json.dumps({tag: [[s, number(v)] for s, v in values] for tag, values in run.items()}))
        return
    for name in sys.argv[1:]:
        events, torn = read_file(name, event_class)
        for e in events:
            for v in e.get("scalars", []):
                v["value"] = number(v["value"])
        print(json.dumps({"file": name, "records": len(events), "torn_bytes": torn, "events": events}))


if __name__ == "__main__":
    main()
