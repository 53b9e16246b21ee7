// A protobuf message as a boost::json::value, in protobuf's canonical proto3
// JSON mapping (https://protobuf.dev/programming-guides/proto3/#json), so that
// it is written by the project's one JSON serializer (json::serialize,
// docs/adr/0008-json-library.md) rather than by protobuf's own writer.
//
// The mapping, as protobuf's MessageToJsonString prints it with
// JsonPrintOptions::preserve_proto_field_names set and the other options left
// at their defaults:
// - keys are the fields' names as the .proto writes them ("message_id");
// - a field is present when it is set: a singular proto3 field when it is not
//   its default (0, "", false, the enum's 0), a message, a oneof member or an
//   `optional` field when it has a value (even a default one), a repeated
//   field or a map when it is not empty;
// - int32, uint32 and their fixed/signed forms are numbers; int64, uint64 and
//   their fixed/signed forms are decimal strings (JSON readers lose integers
//   beyond 2^53);
// - float and double are numbers, "NaN", "Infinity" or "-Infinity"; a float is
//   the number protobuf's text of it reads as: 6 significant digits when they
//   read back as the same float, else 9 ("0.1", not 0.100000001490116;
//   "1.00000012");
// - bytes are base64 (RFC 4648 section 4, with padding);
// - an enum is its value's name, or its number when the value is one the
//   schema does not know;
// - repeated fields are arrays, maps objects keyed by the key's text
//   ("true", "42"), messages objects.
// Unknown fields are left out. The well-known types whose JSON is not their
// fields (Any, Timestamp, Duration, FieldMask, Struct, Value, ListValue,
// NullValue and the wrappers) are refused: the schema (proto/) uses none.
#pragma once

#include <boost/json/value.hpp>

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace icegate::wire {

// `message` in the mapping above. Throws std::invalid_argument naming the
// field and the type when the message holds a well-known type with a special
// mapping.
boost::json::value proto_json(const google::protobuf::Message& message);

}  // namespace icegate::wire
