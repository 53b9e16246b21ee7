#include "gateway/wire/proto_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <openssl/evp.h>

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

namespace icegate::wire {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The well-known types whose JSON form is not the object of their fields.
bool has_special_mapping(std::string_view full_name) {
  static constexpr std::string_view names[] = {
      "google.protobuf.Any",         "google.protobuf.Timestamp",   "google.protobuf.Duration",
      "google.protobuf.FieldMask",   "google.protobuf.Struct",      "google.protobuf.Value",
      "google.protobuf.ListValue",   "google.protobuf.NullValue",   "google.protobuf.DoubleValue",
      "google.protobuf.FloatValue",  "google.protobuf.Int64Value",  "google.protobuf.UInt64Value",
      "google.protobuf.Int32Value",  "google.protobuf.UInt32Value", "google.protobuf.BoolValue",
      "google.protobuf.StringValue", "google.protobuf.BytesValue"};
  for (std::string_view name : names)
    if (name == full_name) return true;
  return false;
}

void refuse_special(std::string_view full_name, const std::string& path) {
  if (has_special_mapping(full_name))
    throw std::invalid_argument(fmt::format("proto_json: {} is a {}, whose JSON mapping is not implemented",
                                            path.empty() ? "the message" : fmt::format("field '{}'", path),
                                            full_name));
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL after the text
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// NaN and the infinities as the mapping's strings, else the number.
boost::json::value floating(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

// A float as the double its decimal text reads as, the text being what
// protobuf writes: 6 significant digits when they read back as the same float,
// else (and for every subnormal float, which protobuf's check refuses) 9: 0.1f
// as 0.1, not 0.100000001490116; 1.0000001f as 1.00000012.
boost::json::value floating(float value) {
  if (!std::isfinite(value)) return floating(static_cast<double>(value));
  std::string text = fmt::format("{:.{}g}", value, FLT_DIG);
  float back = 0;
  std::from_chars(text.data(), text.data() + text.size(), back);
  if (back != value || std::fpclassify(value) == FP_SUBNORMAL) text = fmt::format("{:.{}g}", value, FLT_DIG + 3);
  double read = 0;
  std::from_chars(text.data(), text.data() + text.size(), read);
  return read;
}

boost::json::value enum_value(const google::protobuf::EnumDescriptor& type, int number) {
  if (const EnumValueDescriptor* value = type.FindValueByNumber(number)) return boost::json::string(value->name());
  return number;  // a value from a newer schema: its number, as protobuf writes it
}

boost::json::object object_of(const Message& message, const std::string& path);

// The one value of a singular field, or element `index` of a repeated one.
boost::json::value field_value(const Message& message, const FieldDescriptor& field, int index,
                               const std::string& path) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field);
    case FieldDescriptor::CPPTYPE_INT64:
      return boost::json::string(
          std::to_string(repeated ? r.GetRepeatedInt64(message, &field, index) : r.GetInt64(message, &field)));
    case FieldDescriptor::CPPTYPE_UINT64:
      return boost::json::string(
          std::to_string(repeated ? r.GetRepeatedUInt64(message, &field, index) : r.GetUInt64(message, &field)));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return floating(repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return floating(repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_ENUM:
      refuse_special(field.enum_type()->full_name(), path);
      return enum_value(*field.enum_type(),
                        repeated ? r.GetRepeatedEnumValue(message, &field, index) : r.GetEnumValue(message, &field));
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated ? r.GetRepeatedStringReference(message, &field, index, &scratch)
                                         : r.GetStringReference(message, &field, &scratch);
      return field.type() == FieldDescriptor::TYPE_BYTES ? boost::json::string(base64(text)) : boost::json::string(text);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return object_of(repeated ? r.GetRepeatedMessage(message, &field, index) : r.GetMessage(message, &field), path);
  }
  return nullptr;  // not reached: the switch names every C++ type
}

// A map's key as the text JSON keys it by: bools as "true"/"false", integers in decimal.
std::string map_key(const Message& entry, const FieldDescriptor& key) {
  const Reflection& r = *entry.GetReflection();
  switch (key.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(r.GetInt32(entry, &key));
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(r.GetUInt32(entry, &key));
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(r.GetInt64(entry, &key));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(r.GetUInt64(entry, &key));
    case FieldDescriptor::CPPTYPE_BOOL: return r.GetBool(entry, &key) ? "true" : "false";
    default: return r.GetString(entry, &key);  // string: the only other type a key may have
  }
}

boost::json::value field_json(const Message& message, const FieldDescriptor& field, const std::string& path) {
  const Reflection& r = *message.GetReflection();
  if (field.is_map()) {
    const FieldDescriptor& key = *field.message_type()->map_key();
    const FieldDescriptor& value = *field.message_type()->map_value();
    boost::json::object out;
    for (int i = 0; i < r.FieldSize(message, &field); ++i) {
      const Message& entry = r.GetRepeatedMessage(message, &field, i);
      const std::string name = map_key(entry, key);
      out.insert_or_assign(name, field_value(entry, value, -1, fmt::format("{}[\"{}\"]", path, name)));
    }
    return out;
  }
  if (field.is_repeated()) {
    boost::json::array out;
    out.reserve(static_cast<std::size_t>(r.FieldSize(message, &field)));
    for (int i = 0; i < r.FieldSize(message, &field); ++i)
      out.push_back(field_value(message, field, i, fmt::format("{}[{}]", path, i)));
    return out;
  }
  return field_value(message, field, -1, path);
}

boost::json::object object_of(const Message& message, const std::string& path) {
  const Descriptor& type = *message.GetDescriptor();
  refuse_special(type.full_name(), path);
  // ListFields: the fields that are set (see the header), in field-number
  // order, the order protobuf writes them in.
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  boost::json::object out;
  out.reserve(fields.size());
  for (const FieldDescriptor* field : fields)
    out.emplace(field->name(), field_json(message, *field, path.empty() ? field->name() : path + "." + field->name()));
  return out;
}

}  // namespace

boost::json::value proto_json(const Message& message) { return object_of(message, ""); }

}  // namespace icegate::wire
