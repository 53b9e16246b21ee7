// JSON, through Boost.JSON (docs/adr/0008-json-library.md): every JSON the
// tools, the dashboard and the reports read or write goes through the library.
// This header is light (Boost.JSON's forward declarations only); a file that
// builds or reads JSON documents includes gateway/model/json_value.hpp.
//
// What the project adds to the library is one guarantee: JSON it writes is
// valid UTF-8 whatever bytes a name or path holds (RFC 8259 section 8.1), so
// each byte that belongs to no well-formed UTF-8 sequence is written as U+FFFD.
//
// The audit chain's canonical form is not written here: it has its own
// byte-stable writer in gateway/audit/canonical.cpp, because changing a byte of it
// would break the hashes of every stored record.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace icegate::json {

// `text` with each byte that starts no well-formed UTF-8 sequence replaced by
// U+FFFD.
std::string valid_utf8(std::string_view text);

// `text` as a JSON string literal, quotes included, valid UTF-8 (see above).
std::string quote(std::string_view text);

// `value` as compact JSON text, valid UTF-8 (see above). A double is written
// as the shortest text that reads back as the same double, with ".0" on a
// whole number ("50.0", "0.001234", "1e+20"); Boost.JSON 1.81 alone writes
// 50.0 as "5E1".
std::string serialize(const boost::json::value& value);
std::string serialize(const boost::json::object& object);
std::string serialize(const boost::json::array& array);

// An object with keys in the order they were first added, built over a
// boost::json::object; adding a key again replaces its value in place. A
// moved-from Object may only be assigned to or destroyed.
class Object {
 public:
  Object();
  Object(const Object& other);
  Object(Object&& other) noexcept;
  Object& operator=(const Object& other);
  Object& operator=(Object&& other) noexcept;
  ~Object();

  Object& add(std::string_view key, std::string_view value);
  Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, std::int64_t value);
  Object& add(std::string_view key, bool value);
  Object& add(std::string_view key, const std::vector<std::string>& values);
  Object& add(std::string_view key, const Object& value);
  Object& add(std::string_view key, boost::json::value value);
  // An already-encoded JSON value (as quote() or str() returned it); it is
  // parsed, so malformed text throws std::invalid_argument.
  Object& add_raw(std::string_view key, std::string_view json);

  std::string str() const;
  const boost::json::object& native() const { return *object_; }

 private:
  std::unique_ptr<boost::json::object> object_;
};

// A JSON object written straight into its text: no tree, and no allocation
// but the text's own. For a document written once and never read back on a
// hot path (the audit details each message makes: the decision thread spent
// 14% of its time building them as Objects; docs/PERFORMANCE.md). The text is
// exactly what Object gives for the same calls in the same order: keys in the
// order written, strings made valid UTF-8 as above and escaped as Boost.JSON
// escapes them (tests/gateway/model/json_test.cpp holds the two side by side,
// so the library stays the reference). Unlike Object, a key written twice is
// written twice: the caller writes each key once. Misuse (a key inside an
// array, an item without a key inside an object, an end() with nothing open)
// throws std::logic_error.
class Writer {
 public:
  Writer();

  Writer& add(std::string_view key, std::string_view value);
  Writer& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Writer& add(std::string_view key, std::int64_t value);
  Writer& add(std::string_view key, bool value);
  Writer& add(std::string_view key, const std::vector<std::string>& values);
  // Opens an object or an array under `key`; begin_object() without a key
  // opens the next item of the array open. end() closes the last one opened.
  Writer& begin_object(std::string_view key);
  Writer& begin_object();
  Writer& begin_array(std::string_view key);
  Writer& end();

  // The text, every object and array still open closed. The writer is then
  // empty, as if just constructed.
  std::string finish();

 private:
  void key(std::string_view key);
  void item();
  void open(char bracket, bool array);

  static constexpr int kMaxDepth = 16;
  std::string out_;
  int depth_ = 0;                  // objects and arrays open, the top object included
  bool array_[kMaxDepth] = {};     // whether each open level is an array
  bool written_[kMaxDepth] = {};   // whether each open level has an item yet
};

}  // namespace icegate::json
