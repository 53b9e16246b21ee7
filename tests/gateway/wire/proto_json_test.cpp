// proto_json against protobuf's own printer, the oracle: for every message of
// the wire schema and every shape of the mapping, the value proto_json builds
// is the one MessageToJsonString prints, with the options `icegate node
// --json` used before it (original field names).
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "gateway/model/json_value.hpp"
#include "gateway/wire/proto_json.hpp"
#include "icegate/store/v1/store.pb.h"
#include "icegate/v1/icegate.pb.h"
#include "proto_json_test.pb.h"

namespace icegate::wire {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

boost::json::value oracle(const Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  const auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return boost::json::parse(text);
}

// Numbers as doubles: protobuf writes the double 50.0 as 50, which reads back
// as an integer; a JSON reader sees the same number.
boost::json::value numbers_as_doubles(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return value.to_number<double>();
    case boost::json::kind::array: {
      boost::json::array out;
      for (const auto& item : value.get_array()) out.push_back(numbers_as_doubles(item));
      return out;
    }
    case boost::json::kind::object: {
      boost::json::object out;
      for (const auto& member : value.get_object()) out[member.key()] = numbers_as_doubles(member.value());
      return out;
    }
    default: return value;
  }
}

// Both texts read by the same parser: Boost.JSON 1.81 does not round every
// decimal to the nearest double, so proto_json's values are compared as written.
void expect_as_protobuf_prints(const Message& message) {
  const boost::json::value ours = boost::json::parse(json::serialize(proto_json(message)));
  const boost::json::value theirs = oracle(message);
  EXPECT_EQ(numbers_as_doubles(ours), numbers_as_doubles(theirs))
      << message.GetTypeName() << "\n ours:   " << json::serialize(ours) << "\n theirs: " << json::serialize(theirs);
}

// Values chosen for the edges of the mapping: integers beyond 2^53 and at the
// limits of their types, NaN and the infinities, floats with no short decimal,
// bytes needing each amount of base64 padding, text JSON must escape.
const std::vector<std::string> texts = {"ctu-wm", "\"quoted\" <b>&amp;</b> '= \\ /", "line\nbreak\ttab\x01\x1f",
                                        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xe2\x82\xac \xe2\x80\xa8\xe2\x80\xa9 \xf0\x9f\x94\x92"};
const std::vector<std::string> blobs = {std::string("\x00\xff\x10\xfe", 4), "a", "ab", "abc"};
const std::vector<double> doubles = {0.1, -1e300, 50.0, 5e-324, 1.0 / 3.0, std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
const std::vector<float> floats = {0.1f, 1.0000001f, 3.4028235e38f, 1e-45f, 16777216.0f,
                                   std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()};
const std::vector<std::int64_t> int64s = {std::numeric_limits<std::int64_t>::max(), -9007199254740993,
                                          std::numeric_limits<std::int64_t>::min(), 1};
const std::vector<std::uint64_t> uint64s = {std::numeric_limits<std::uint64_t>::max(), 9007199254740993, 1};
const std::vector<std::int32_t> int32s = {std::numeric_limits<std::int32_t>::max(), -1,
                                          std::numeric_limits<std::int32_t>::min(), 7};
const std::vector<std::uint32_t> uint32s = {std::numeric_limits<std::uint32_t>::max(), 1, 65536};

template <typename T>
T pick(const std::vector<T>& values, int k) {
  return values[static_cast<std::size_t>(k) % values.size()];
}

void fill(Message& message, int k, int depth);

// Sets `field` (singular) or adds to it (repeated) value number `k` of its type.
void set_value(Message& message, const FieldDescriptor& field, int k, int depth) {
  const Reflection& r = *message.GetReflection();
  const bool add = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      add ? r.AddInt32(&message, &field, pick(int32s, k)) : r.SetInt32(&message, &field, pick(int32s, k));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      add ? r.AddUInt32(&message, &field, pick(uint32s, k)) : r.SetUInt32(&message, &field, pick(uint32s, k));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      add ? r.AddInt64(&message, &field, pick(int64s, k)) : r.SetInt64(&message, &field, pick(int64s, k));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      add ? r.AddUInt64(&message, &field, pick(uint64s, k)) : r.SetUInt64(&message, &field, pick(uint64s, k));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      add ? r.AddDouble(&message, &field, pick(doubles, k)) : r.SetDouble(&message, &field, pick(doubles, k));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      add ? r.AddFloat(&message, &field, pick(floats, k)) : r.SetFloat(&message, &field, pick(floats, k));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      add ? r.AddBool(&message, &field, k % 2 == 0) : r.SetBool(&message, &field, true);
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Every known value in turn, and one from a newer schema (99).
      const int count = field.enum_type()->value_count();
      const int number = k % (count + 1) == count ? 99 : field.enum_type()->value(k % (count + 1))->number();
      add ? r.AddEnumValue(&message, &field, number) : r.SetEnumValue(&message, &field, number == 0 ? 1 : number);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value = field.type() == FieldDescriptor::TYPE_BYTES ? pick(blobs, k) : pick(texts, k);
      add ? r.AddString(&message, &field, value) : r.SetString(&message, &field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      fill(add ? *r.AddMessage(&message, &field) : *r.MutableMessage(&message, &field), k, depth + 1);
      break;
  }
}

// Every field of `message` set, each repeated field and map given three
// values (distinct keys), messages to three levels. In a oneof the last
// member set wins.
void fill(Message& message, int k, int depth) {
  if (depth > 3) return;
  const auto& type = *message.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.is_map()) {
      const FieldDescriptor& key = *field.message_type()->map_key();
      for (int n = 0; n < (key.cpp_type() == FieldDescriptor::CPPTYPE_BOOL ? 2 : 3); ++n) {
        Message& entry = *message.GetReflection()->AddMessage(&message, &field);
        if (key.cpp_type() == FieldDescriptor::CPPTYPE_BOOL)
          entry.GetReflection()->SetBool(&entry, &key, n == 0);
        else
          set_value(entry, key, n, depth);
        set_value(entry, *field.message_type()->map_value(), k + n, depth);
      }
    } else if (field.is_repeated()) {
      for (int n = 0; n < 3; ++n) set_value(message, field, k + i + n, depth);
    } else {
      set_value(message, field, k + i, depth);
    }
  }
}

TEST(ProtoJson, EveryFrameAsProtobufPrintsIt) {
  const auto& body = *v1::Frame::descriptor()->FindOneofByName("body");
  ASSERT_EQ(body.field_count(), 14);
  for (int i = 0; i < body.field_count(); ++i) {
    SCOPED_TRACE(body.field(i)->name());
    v1::Frame frame;
    fill(*frame.GetReflection()->MutableMessage(&frame, body.field(i)), i, 0);
    expect_as_protobuf_prints(frame);
  }
}

// `icegate node --json` writes the bytes protobuf wrote, keys in the same
// order, but for the characters protobuf alone escapes: < and > (as \u003c and
// \u003e) and U+2028 and U+2029, which JSON allows as they are.
std::string without_protobufs_own_escapes(std::string text) {
  for (const auto& [escape, character] : {std::pair<std::string, std::string>{"\\u003c", "<"},
                                          {"\\u003e", ">"},
                                          {"\\u2028", "\xe2\x80\xa8"},
                                          {"\\u2029", "\xe2\x80\xa9"}})
    for (auto at = text.find(escape); at != std::string::npos; at = text.find(escape, at))
      text.replace(at, escape.size(), character);
  return text;
}

TEST(ProtoJson, EveryFrameInTheBytesProtobufWroteButForItsOwnEscapes) {
  const auto& body = *v1::Frame::descriptor()->FindOneofByName("body");
  for (int i = 0; i < body.field_count(); ++i) {
    SCOPED_TRACE(body.field(i)->name());
    v1::Frame frame;
    fill(*frame.GetReflection()->MutableMessage(&frame, body.field(i)), i, 0);
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(frame, &text, options).ok());
    EXPECT_EQ(json::serialize(proto_json(frame)), without_protobufs_own_escapes(text));
  }
}

TEST(ProtoJson, EveryMessageOfTheSchemaAsProtobufPrintsIt) {
  for (const auto* file : {v1::Frame::descriptor()->file(), store::v1::StoredHold::descriptor()->file()}) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      SCOPED_TRACE(file->message_type(i)->full_name());
      for (int k = 0; k < 4; ++k) {
        std::unique_ptr<Message> message(
            google::protobuf::MessageFactory::generated_factory()->GetPrototype(file->message_type(i))->New());
        fill(*message, k, 0);
        expect_as_protobuf_prints(*message);
      }
    }
  }
}

TEST(ProtoJson, EveryShapeOfTheMappingAsProtobufPrintsIt) {
  for (int k = 0; k < 8; ++k) {
    SCOPED_TRACE(k);
    test::Everything everything;
    fill(everything, k, 0);
    expect_as_protobuf_prints(everything);
  }
}

TEST(ProtoJson, WritesInt64AsTextBytesAsBase64EnumsByNameAndFieldsInNumberOrder) {
  test::Everything everything;
  everything.mutable_scalars()->set_an_int64(std::numeric_limits<std::int64_t>::max());
  everything.mutable_scalars()->set_a_uint32(std::numeric_limits<std::uint32_t>::max());
  everything.mutable_scalars()->set_some_bytes(std::string("\x00\xff\x10", 3));
  everything.mutable_scalars()->set_colour(test::COLOUR_GREEN);
  everything.mutable_scalars()->set_a_double(std::numeric_limits<double>::quiet_NaN());
  everything.mutable_scalars()->set_a_float(0.1f);
  everything.add_colours(test::COLOUR_RED);
  everything.add_colours(static_cast<test::Colour>(99));
  (*everything.mutable_by_truth())[true] = "yes";
  everything.set_big(-5);
  EXPECT_EQ(json::serialize(proto_json(everything)),
            R"({"scalars":{"a_double":"NaN","a_float":0.1,"an_int64":"9223372036854775807","a_uint32":4294967295,)"
            R"("some_bytes":"AP8Q","colour":"COLOUR_GREEN"},"colours":["COLOUR_RED",99],"by_truth":{"true":"yes"},)"
            R"("big":"-5"})");
}

TEST(ProtoJson, LeavesOutDefaultsButNotSetOneofsOptionalsOrEmptyMessages) {
  test::Everything everything;
  everything.mutable_scalars();   // set, and empty
  everything.set_text("");        // a oneof member, set to its default
  everything.set_maybe(0);        // an optional field, set to its default
  everything.add_int64s(0);       // a repeated field's element, which has no default
  EXPECT_EQ(json::serialize(proto_json(everything)), R"({"scalars":{},"int64s":["0"],"text":"","maybe":0})");
  expect_as_protobuf_prints(everything);
  EXPECT_EQ(json::serialize(proto_json(test::Everything{})), "{}");
}

TEST(ProtoJson, RefusesAWellKnownTypeItDoesNotMapNamingTheField) {
  test::WithTimestamp message;
  message.set_name("x");
  message.mutable_at()->set_seconds(1);
  try {
    (void)proto_json(message);
    FAIL() << "a Timestamp was written as its fields";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "proto_json: field 'at' is a google.protobuf.Timestamp, whose JSON mapping is not implemented");
  }
  message.clear_at();
  EXPECT_EQ(json::serialize(proto_json(message)), R"({"name":"x"})");
}

}  // namespace
}  // namespace icegate::wire
