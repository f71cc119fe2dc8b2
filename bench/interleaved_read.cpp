// interleaved_read: sequential read throughput of several files, measured
// side by side so that a noisy machine's drift cancels out of the ratios.
//
//   interleaved_read [--steps N] [--cpu-pid PID] FILE...
//
// Every file is read once from start to end with 1 MiB read()s (as
// `dd bs=1M`), in N steps (default 16): step i reads the i-th N-th of each
// file, one file after the other, the order rotating every step. A slow
// second on the host (steal, a busy neighbour) therefore lands on every
// file alike. Steps stay large next to the kernel's readahead window, whose
// last requests may still be served during the next file's step.
// Each file's seconds are the sum of its own steps. With --cpu-pid, the CPU
// seconds (user + system) that process used during each file's steps are
// summed too (the vdiskfs daemon: what it spends per byte of each file).
//
// Prints one line per file: "FILE BYTES SECONDS CPU_SECONDS" (CPU_SECONDS
// is 0 without --cpu-pid).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr size_t kReadBytes = 1 << 20;

struct File {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
  uint64_t done = 0;
  double seconds = 0;
  double cpu = 0;
};

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// CPU seconds (fields 14 and 15 of /proc/PID/stat) of `pid`, 0 if none.
double cpu_seconds(long pid) {
  if (pid <= 0) return 0;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    std::fprintf(stderr, "interleaved_read: cannot open %s\n", path.c_str());
    std::exit(1);
  }
  char line[1024];
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  // The command name may hold spaces; fields are counted after its ')'.
  const char* p = got ? std::strrchr(line, ')') : nullptr;
  if (!p) {
    std::fprintf(stderr, "interleaved_read: cannot parse %s\n", path.c_str());
    std::exit(1);
  }
  unsigned long utime = 0, stime = 0;
  // After ')': field 3 (state) ... field 14 utime, 15 stime.
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
    std::fprintf(stderr, "interleaved_read: cannot parse %s\n", path.c_str());
    std::exit(1);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// Reads `file` up to byte `until` (sequentially from where it stopped).
void read_until(File& file, uint64_t until, std::vector<char>& buf) {
  while (file.done < until) {
    const size_t want = size_t(std::min<uint64_t>(kReadBytes, until - file.done));
    const ssize_t n = read(file.fd, buf.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "interleaved_read: %s: %s at byte %llu\n", file.path.c_str(),
                   n < 0 ? std::strerror(errno) : "unexpected end of file",
                   static_cast<unsigned long long>(file.done));
      std::exit(1);
    }
    file.done += uint64_t(n);
  }
}

int usage() {
  std::fprintf(stderr, "usage: interleaved_read [--steps N] [--cpu-pid PID] FILE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned steps = 16;
  long cpu_pid = 0;
  std::vector<File> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--steps" && i + 1 < argc) {
      steps = unsigned(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--cpu-pid" && i + 1 < argc) {
      cpu_pid = std::strtol(argv[++i], nullptr, 10);
    } else if (arg.rfind("--", 0) == 0) {
      return usage();
    } else {
      files.push_back(File{arg});
    }
  }
  if (files.empty() || steps == 0) {
    return usage();
  }
  for (File& f : files) {
    f.fd = open(f.path.c_str(), O_RDONLY);
    const off_t size = f.fd < 0 ? -1 : lseek(f.fd, 0, SEEK_END);
    if (size < 0 || lseek(f.fd, 0, SEEK_SET) != 0) {
      std::fprintf(stderr, "interleaved_read: %s: %s\n", f.path.c_str(), std::strerror(errno));
      return 1;
    }
    if (size == 0) {
      std::fprintf(stderr, "interleaved_read: %s: empty file\n", f.path.c_str());
      return 1;
    }
    f.size = uint64_t(size);
  }
  std::vector<char> buf(kReadBytes);
  for (unsigned step = 1; step <= steps; ++step) {
    for (size_t k = 0; k < files.size(); ++k) {
      File& f = files[(step + k) % files.size()];
      // Step boundaries on whole MiB, so every read() is 1 MiB as with dd.
      uint64_t until = f.size * step / steps;
      if (step < steps) until -= until % kReadBytes;
      const double c0 = cpu_seconds(cpu_pid);
      const double t0 = now();
      read_until(f, until, buf);
      f.seconds += now() - t0;
      f.cpu += cpu_seconds(cpu_pid) - c0;
    }
  }
  for (const File& f : files) {
    std::printf("%s %llu %.6f %.3f\n", f.path.c_str(), static_cast<unsigned long long>(f.size),
                f.seconds, f.cpu);
    close(f.fd);
  }
  return 0;
}
