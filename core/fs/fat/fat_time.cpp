#include "core/fs/fat/fat_time.h"

#include <fmt/core.h>

#include <ctime>

namespace vdiskfs::fat {
namespace {

inline constexpr int64_t kSurelyFrom = 315705600;    // 1980-01-03 00:00 UTC
inline constexpr int64_t kSurelyUntil = 4354646400;  // 2107-12-30 00:00 UTC

// A broken-down time; year as the calendar year.
struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

// Days since 1970-01-01 to the proleptic Gregorian date (Hinnant's
// civil_from_days).
Civil civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = int(doy - (153 * mp + 2) / 5 + 1);
  const int month = int(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day, 0, 0, 0};
}

Civil civil_utc(int64_t sec) {
  const int64_t days = (sec >= 0 ? sec : sec - 86399) / 86400;
  const int64_t rem = sec - days * 86400;
  Civil c = civil_from_days(days);
  c.hour = int(rem / 3600);
  c.minute = int(rem / 60 % 60);
  c.second = int(rem % 60);
  return c;
}

// In the local time zone; years the C library cannot convert are taken
// as UTC (they lie far outside FAT's range either way).
Civil civil_of(int64_t sec, bool local) {
  if (!local) return civil_utc(sec);
  const time_t t = time_t(sec);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return civil_utc(sec);
  return {int64_t(tm.tm_year) + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, std::min(tm.tm_sec, 59)};
}

FatTime encode(const Civil& c, uint8_t centis) {
  FatTime f;
  f.date = uint16_t((c.year - 1980) << 9 | c.month << 5 | c.day);
  f.time = uint16_t(c.hour << 11 | c.minute << 5 | c.second / 2);
  f.centis = uint8_t(c.second % 2 * 100 + centis);
  return f;
}

}  // namespace

FatTime to_fat_time(Timestamp t, bool local) {
  const Civil c = civil_of(t.sec, local);
  if (c.year < 1980) {
    FatTime f = encode({1980, 1, 1, 0, 0, 0}, 0);
    f.clamped = true;
    return f;
  }
  if (c.year > 2107) {
    FatTime f = encode({2107, 12, 31, 23, 59, 59}, 99);
    f.clamped = true;
    return f;
  }
  return encode(c, uint8_t(t.nsec / 10000000));
}

EntryTimes entry_times(const Node& node, bool local) {
  EntryTimes t;
  t.write = to_fat_time(node.mtime, local);
  t.create = to_fat_time(node.btime.is_zero() ? node.mtime : node.btime, local);
  t.access = to_fat_time(node.atime, local);
  return t;
}

bool surely_in_fat_years(Timestamp t) { return t.sec >= kSurelyFrom && t.sec < kSurelyUntil; }

std::string format_time(Timestamp t, bool local) {
  const Civil c = civil_of(t.sec, local);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second);
}

std::string format_fat_time(const FatTime& t) {
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", 1980 + (t.date >> 9), (t.date >> 5) & 15, t.date & 31,
                     t.time >> 11, (t.time >> 5) & 63, (t.time & 31) * 2);
}

}  // namespace vdiskfs::fat
