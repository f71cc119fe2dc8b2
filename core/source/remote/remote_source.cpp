#include "core/source/remote/remote_source.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/tree_assembler.h"

namespace vdiskfs {
namespace {

// One directory's listing, with its symlinks' targets.
struct Listing {
  bool done = false, ok = false;
  std::vector<RemoteEntry> entries;
  std::vector<std::string> targets;  // per entry: its target when it is a symlink
  RemoteError err;
};

// Lists directories ahead of the walk, several at once through the pool.
class ListingQueue {
 public:
  ListingQueue(ConnectionPool& pool, size_t threads) : pool_(pool) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~ListingQueue() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void request(std::string path) {
    {
      std::lock_guard lock(mutex_);
      todo_.push_back(std::move(path));
    }
    work_cv_.notify_one();
  }
  Listing take(const std::string& path) {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [&] { return results_[path].done; });
    Listing out = std::move(results_[path]);
    results_.erase(path);
    return out;
  }

 private:
  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      work_cv_.wait(lock, [&] { return stop_ || !todo_.empty(); });
      if (stop_) return;
      const std::string path = std::move(todo_.front());
      todo_.pop_front();
      lock.unlock();
      Listing l;
      l.ok = pool_.with([&](RemoteConnection& c, RemoteError& err) { return list(c, path, l, err); }, l.err);
      l.done = true;
      lock.lock();
      results_[path] = std::move(l);
      done_cv_.notify_all();
    }
  }
  static bool list(RemoteConnection& c, const std::string& path, Listing& l, RemoteError& err) {
    if (!c.list(path, l.entries, err)) return false;
    l.targets.resize(l.entries.size());
    for (size_t i = 0; i < l.entries.size(); ++i)
      if (S_ISLNK(l.entries[i].stat.mode) &&
          !c.readlink(path.empty() ? l.entries[i].name : path + "/" + l.entries[i].name, l.targets[i], err))
        return false;
    return true;
  }

  ConnectionPool& pool_;
  std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::string> todo_;
  std::unordered_map<std::string, Listing> results_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

EntrySpec spec_of(const RemoteStat& st) {
  EntrySpec spec;
  Node& n = spec.attrs;
  n.mode = st.mode;
  n.uid = st.uid;
  n.gid = st.gid;
  n.atime = st.atime;
  n.mtime = st.mtime;
  n.ctime = st.ctime;
  if (S_ISREG(st.mode)) n.size = st.size;
  if (S_ISCHR(st.mode) || S_ISBLK(st.mode)) n.aux = st.rdev;
  return spec;
}

// Folders deeper than this are not descended into (a loop the server
// hides from fileids).
constexpr size_t kMaxDepth = 512;

// A file's identity on the server: (fsid, fileid). Names with the same one
// are hard links; a fileid alone may repeat across the filesystems of one
// export.
using FileKey = std::pair<uint64_t, uint64_t>;
FileKey key_of(const RemoteStat& st) { return {st.fsid, st.fileid}; }

// Why a folder with `fileid` under `parent` must not be descended into: it
// is one of its own ancestors (a server following a symlink to "..", as
// SMB servers do), or lies too deep; "" when it may.
std::string folder_loop(const Tree& tree, uint32_t parent, const std::vector<FileKey>& dir_fileid, FileKey fileid) {
  size_t depth = 0;
  for (uint32_t n = parent;; n = tree.dirents[tree.nodes[n].first_link].parent) {
    if (fileid.second != 0 && n < dir_fileid.size() && dir_fileid[n] == fileid)
      return fmt::format("the same folder as /{} (a loop on the server)", tree.relative_path(n));
    if (n == 0) break;
    if (++depth > kMaxDepth) return fmt::format("deeper than {} folders (a loop on the server?)", kMaxDepth);
  }
  return "";
}

std::string join(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

}  // namespace

RemoteSource::RemoteSource(std::unique_ptr<RemoteShare> share, const ScanOptions& options)
    : share_(std::move(share)), reader_(*share_, options.remote) {}

std::unique_ptr<RemoteSource> RemoteSource::open(std::unique_ptr<RemoteShare> share, const ScanOptions& options,
                                                 ScanReport& report) {
  std::unique_ptr<RemoteSource> src(new RemoteSource(std::move(share), options));
  src->reader_.pool().check_reachable();  // an Error naming the URL and why
  src->scan(options, report);
  src->checked_.assign(src->tree_.nodes.size(), 0);
  src->checked_at_ms_.assign(src->tree_.nodes.size(), 0);
  return src;
}

void RemoteSource::scan(const ScanOptions& options, ScanReport& report) {
  RemoteStat root;
  RemoteError err;
  if (!reader_.pool().with([&](RemoteConnection& c, RemoteError& e) { return c.stat("", root, e); }, err))
    fail("{}: {}", describe(), err.message);
  if (!S_ISDIR(root.mode)) fail("{} is not a directory", describe());
  const RemoteCaps caps = share_->caps();
  if (!caps.missing.empty())
    log_warning("{}: the protocol does not carry {}; the disk shows the defaults the README states", describe(),
                caps.missing);
  TreeAssembler assembler(spec_of(root), describe());
  ListingQueue queue(reader_.pool(), std::max<size_t>(1, options.remote.connections));
  queue.request("");
  std::map<FileKey, uint32_t> by_fileid;       // files of several names
  std::vector<FileKey> dir_fileid{key_of(root)};  // per node (directories): the server's identity
  uint64_t entries = 0;
  for (uint32_t dir = assembler.next_directory(); dir != kNoIndex; dir = assembler.next_directory()) {
    const std::string path = assembler.tree().relative_path(dir);
    Listing l = queue.take(path);
    if (!l.ok) {
      if (options.strict) fail("{}: listing {}: {}", describe(), path.empty() ? "/" : path, l.err.message);
      report.skipped.push_back(fmt::format("{}: {} (kept empty)", path.empty() ? "/" : path, l.err.message));
      continue;
    }
    std::vector<size_t> order(l.entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return name_before(l.entries[a].name, l.entries[b].name); });
    std::string_view previous;
    for (size_t i : order) {
      const RemoteEntry& e = l.entries[i];
      if (e.name == "." || e.name == ".." || e.name.empty() || e.name.find('/') != std::string::npos) continue;
      if (e.name == previous) continue;  // a listing that restarted while the folder changed
      previous = e.name;
      const bool linked = caps.hard_links && !S_ISDIR(e.stat.mode) && e.stat.nlink > 1;
      if (linked) {
        if (auto it = by_fileid.find(key_of(e.stat)); it != by_fileid.end()) {
          assembler.add_link(e.name, it->second);
          continue;
        }
      }
      EntrySpec spec = spec_of(e.stat);
      if (S_ISLNK(e.stat.mode)) spec.link_target = l.targets[i];
      const std::string child = join(path, e.name);
      const std::string loop = S_ISDIR(e.stat.mode) ? folder_loop(assembler.tree(), dir, dir_fileid, key_of(e.stat)) : "";
      if (!loop.empty()) report.skipped.push_back(fmt::format("{}: {}; kept empty, not descended into", child, loop));
      const uint32_t node = assembler.add_new(e.name, spec, loop.empty());
      if (linked) by_fileid.emplace(key_of(e.stat), node);
      if (node >= dir_fileid.size()) dir_fileid.resize(node + 1);
      dir_fileid[node] = key_of(e.stat);
      if (S_ISDIR(e.stat.mode) && loop.empty()) queue.request(child);
      if (node >= files_.size()) files_.resize(node + 1);
      if (S_ISREG(e.stat.mode)) files_[node] = {child, e.stat.size, remote_file_key(describe(), child, e.stat)};
      if (options.progress && ++entries % 4096 == 0) options.progress(entries);
    }
  }
  tree_ = assembler.finish();
  files_.resize(tree_.nodes.size());
}

Status RemoteSource::check_unchanged(uint32_t node) const {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  {
    std::lock_guard lock(checked_mutex_);
    if (checked_[node] == 1 && now_ms - checked_at_ms_[node] < kRecheckMs) return Status::ok;
    if (checked_[node] == 2) return Status::source_changed;
  }
  RemoteStat now;
  RemoteError err;
  if (!reader_.pool().with([&](RemoteConnection& c, RemoteError& e) { return c.stat(files_[node].path, now, e); },
                           err)) {
    if (err.error == ENOENT) {
      now.mode = 0;  // gone: a change
    } else {
      log_error("{}: {}", describe(), err.message);
      return Status::io_error;
    }
  }
  const Node& was = tree_.nodes[node];
  const bool same = S_ISREG(now.mode) && now.size == was.size && now.mtime == was.mtime;
  std::lock_guard lock(checked_mutex_);
  if (checked_[node] != 2) {
    checked_at_ms_[node] = now_ms;
    checked_[node] = same ? 1 : 2;
    if (!same) {
      ++changed_files_;
      log_error("source file {}/{} changed on the server since the mount ({}); its reads answer EIO", describe(),
                files_[node].path, !S_ISREG(now.mode) ? "gone" : now.size != was.size ? "size" : "mtime");
    }
  }
  return checked_[node] == 1 ? Status::ok : Status::source_changed;
}

Status RemoteSource::read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const {
  if (const Status s = check_unchanged(node); !ok(s)) return s;
  return reader_.read(node, files_[node], offset, buf, len);
}

std::vector<std::pair<std::string, uint64_t>> RemoteSource::stats() const {
  auto rows = reader_.stats();
  rows.emplace_back("changed_files", changed_files_.load());
  return rows;
}

}  // namespace vdiskfs
