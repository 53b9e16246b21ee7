// The time the gateway decides by. Embargoes, expiry and occasional-access
// windows read this clock, never the system clock directly, so an exercise can
// run a 48-hour scenario in seconds on a simulated clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace icegate {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  std::int64_t now_unix_ms() const;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimePoint start) : now_ms_(to_ms(start)) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(now_ms_.load())); }
  void set(TimePoint time) { now_ms_ = to_ms(time); }
  void advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }

 private:
  static std::int64_t to_ms(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> now_ms_;
};

std::shared_ptr<const Clock> system_clock();

std::int64_t to_unix_ms(TimePoint time);
TimePoint from_unix_ms(std::int64_t unix_ms);
// How format_utc writes a time; every UTC time the tree prints is one of these.
enum class UtcStyle {
  iso,             // "2026-11-21T06:00:00Z" (audit, JSON, scenario files)
  iso_ms,          // "2026-11-21T06:00:00.250Z" (the dashboard's frames)
  readable,        // "2026-11-21 06:00:00 UTC" (reports, certificates)
  readable_minute, // "2026-11-21 06:00 UTC" (bench headers)
  date,            // "2026-11-21"
};
// `unix_ms` in UTC; times before 1970 round down (-1 ms is 23:59:59.999 on
// 1969-12-31), as the calendar does. Outside the years 1 to 9999 (only a
// corrupt or hostile record holds such a time), "@<unix_ms>ms" in every style.
std::string format_utc(std::int64_t unix_ms, UtcStyle style = UtcStyle::iso);
std::string format_utc(TimePoint time, UtcStyle style);
// "2026-11-21T06:00:00Z" (or Unix milliseconds as digits) to Unix milliseconds.
std::optional<std::int64_t> parse_utc(std::string_view text);

}  // namespace icegate
