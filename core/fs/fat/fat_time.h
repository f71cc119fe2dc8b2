#pragma once
// Times on FAT: a date (years 1980..2107, days) and a time of day at 2 s
// resolution, plus hundredths of 2 s for the creation time, in local
// time as DOS kept it or in UTC.
#include <cstdint>
#include <string>

#include "core/source/timestamp.h"
#include "core/source/tree.h"

namespace vdiskfs::fat {

// A time as a directory entry stores it.
struct FatTime {
  uint16_t date = 0;  // bits 15..9 year - 1980, 8..5 month, 4..0 day
  uint16_t time = 0;  // bits 15..11 hours, 10..5 minutes, 4..0 seconds / 2
  uint8_t centis = 0;  // DIR_CrtTimeTenth: 10 ms units past `time`, 0..199
  bool clamped = false;  // the time lay outside 1980-01-01 .. 2107-12-31 and was moved to that edge
};

// `t` in FAT's encoding, in local time (the process's time zone) when
// `local` is set, else in UTC. Seconds below 2 go to `centis`.
FatTime to_fat_time(Timestamp t, bool local);

// The times of a directory entry: DIR_WrtDate/Time from the mtime,
// DIR_CrtDate/Time/TimeTenth from the btime (the mtime when unknown),
// DIR_LstAccDate from the atime.
struct EntryTimes {
  FatTime write, create, access;
};
EntryTimes entry_times(const Node& node, bool local);

// Whether `t` lies inside FAT's years in every time zone (more than a day
// from their ends), so that to_fat_time cannot clamp it: a quick test that
// spares the conversion (localtime_r with --local-time).
bool surely_in_fat_years(Timestamp t);

// "YYYY-MM-DD HH:MM:SS" of `t` (UTC, or local time when `local`), for
// messages about clamped times.
std::string format_time(Timestamp t, bool local);

// "YYYY-MM-DD HH:MM:SS" of a FAT date and time, for the same messages.
std::string format_fat_time(const FatTime& t);

}  // namespace vdiskfs::fat
