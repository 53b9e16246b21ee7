#include "gateway/model/clock.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace icegate {

std::int64_t Clock::now_unix_ms() const { return to_unix_ms(now()); }

std::shared_ptr<const Clock> system_clock() {
  static const auto clock = std::make_shared<const SystemClock>();
  return clock;
}

std::int64_t to_unix_ms(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint from_unix_ms(std::int64_t unix_ms) { return TimePoint(std::chrono::milliseconds(unix_ms)); }

std::string format_utc(std::int64_t unix_ms, UtcStyle style) {
  constexpr std::int64_t earliest = -62'135'596'800'000;  // 0001-01-01T00:00:00.000Z
  constexpr std::int64_t latest = 253'402'300'799'999;    // 9999-12-31T23:59:59.999Z
  if (unix_ms < earliest || unix_ms > latest) return fmt::format("@{}ms", unix_ms);
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds{unix_ms}};
  const sys_days day = floor<days>(time);  // rounds down before 1970, as the calendar does
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  const int year = static_cast<int>(date.year());
  const unsigned month = static_cast<unsigned>(date.month());
  const unsigned mday = static_cast<unsigned>(date.day());
  const auto hour = clock.hours().count();
  const auto minute = clock.minutes().count();
  const auto second = clock.seconds().count();
  switch (style) {
    case UtcStyle::iso:
      return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", year, month, mday, hour, minute, second);
    case UtcStyle::iso_ms:
      return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year, month, mday, hour, minute, second,
                         clock.subseconds().count());
    case UtcStyle::readable:
      return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", year, month, mday, hour, minute, second);
    case UtcStyle::readable_minute:
      return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", year, month, mday, hour, minute);
    case UtcStyle::date:
      return fmt::format("{:04}-{:02}-{:02}", year, month, mday);
  }
  return fmt::format("@{}ms", unix_ms);
}

std::string format_utc(TimePoint time, UtcStyle style) { return format_utc(to_unix_ms(time), style); }

std::optional<std::int64_t> parse_utc(std::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::stoll(std::string(text));
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char zone = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute, &second, &zone) != 7 ||
      zone != 'Z')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

}  // namespace icegate
