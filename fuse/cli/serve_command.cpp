#include "fuse/cli/serve_command.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fmt/core.h>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/catalog/catalog_error.h"
#include "core/catalog/catalog_store.h"
#include "core/catalog/disk_name.h"
#include "core/image/bytes_image.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "fuse/cli/catalog_command.h"
#include "fuse/cli/clone_command.h"
#include "fuse/cli/layout_json.h"
#include "fuse/cli/mount_command.h"
#include "fuse/disk_table.h"
#include "fuse/fuse_ops.h"
#include "fuse/mount_point.h"

namespace vdiskfs {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The folder of a disk that could not be built: one file, ERROR, holding
// the message and a newline.
std::shared_ptr<DiskFolder> error_folder(const std::string& name, const std::string& message) {
  auto folder = std::make_shared<DiskFolder>();
  folder->name = name;
  folder->mtime_ns = now_ns();
  const std::string text = message + "\n";
  folder->files.add(expose("ERROR", std::make_shared<BytesImage>(text), nullptr, folder->mtime_ns, text.size()));
  return folder;
}

// True when `name` can be a folder of the mount even though the catalog
// must not hold it (disk_name_problem): such a disk gets an ERROR folder.
// Empty, ".", "..", a '/' or over 255 bytes cannot be one at all.
bool can_be_folder(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= 255 && name.find('/') == std::string::npos;
}

// True when two rows of a disk give the same files (a changed source,
// layout or delta folder, or a row added again in another second, means
// building it again).
bool same_disk(const CatalogDisk& a, const CatalogDisk& b) {
  return a.source == b.source && a.layout == b.layout && a.delta_dir == b.delta_dir && a.created == b.created &&
         a.top_layer == b.top_layer;
}

// The daemon's state: the folders served, the disks the catalog lists,
// the scans waiting for a thread, and the threads (started only once the
// mount answers: after daemonizing, since fork keeps no threads).
class Server {
 public:
  Server(const ServeArgs& args, std::string mount_point, std::string catalog)
      : args_(args), mount_point_(std::move(mount_point)), catalog_(std::move(catalog)) {}
  ~Server() { stop(); }

  DiskTable& table() { return table_; }

  // Starts the threads and tells systemd the mount is ready.
  void start() {
    pid_ = getpid();
    try {
      writer_ = std::make_unique<CatalogStore>(catalog_, CatalogStore::Access::read_write);
      writer_->drop_served(mount_point_, pid_);
    } catch (const Error& e) {
      log_warning("cannot record in catalog {} which disks this mount serves ({}): catalog remove will not know "
                  "which are open",
                  catalog_, e.what());
      writer_.reset();
    }
    for (unsigned i = 0; i < args_.jobs; ++i) threads_.emplace_back([this] { work(); });
    threads_.emplace_back([this] { poll(); });
    sd_notify(0, "READY=1");
  }

  // Stops and joins the threads (a scan under way is finished first), and
  // drops this mount's rows from the catalog.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    poll_wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    record([&](CatalogStore& c) { c.drop_served(mount_point_, pid_); });
  }

  // FUSE's open_changed: an open of a file of disk `name` started (+1) or
  // was released (-1). Only counts; the poll thread writes the count to
  // the catalog, so a FUSE thread never waits for SQLite.
  void open_changed(const std::string& name, int change) {
    {
      std::lock_guard lock(opens_mutex_);
      opens_[name] += change;
      dirty_.insert(name);
    }
    flush_wanted_ = true;
    poll_wake_.notify_one();
  }

 private:
  struct Job {
    CatalogDisk row;
    uint64_t generation;
  };

  // A built folder, or the ERROR folder of a failed build and why.
  struct Built {
    std::shared_ptr<DiskFolder> folder;
    std::string error;  // "" when built
  };

  // Runs `fn` on the catalog connection that records what is served;
  // failures are logged, never thrown (a FUSE operation may be calling).
  template <typename Fn>
  void record(Fn fn) {
    std::lock_guard lock(writer_mutex_);
    if (!writer_) return;
    try {
      fn(*writer_);
    } catch (const std::exception& e) {
      log_warning("cannot record in catalog {} what this mount serves: {}", catalog_, e.what());
    }
  }

  // The opens of the folders of disk `name`, live or dropped.
  int64_t opens(const std::string& name) {
    std::lock_guard lock(opens_mutex_);
    const auto it = opens_.find(name);
    return it == opens_.end() ? 0 : it->second;
  }

  // Writes the open counts changed since the last call to the catalog.
  void flush_opens() {
    flush_wanted_ = false;
    std::set<std::string> names;
    {
      std::lock_guard lock(opens_mutex_);
      names.swap(dirty_);
    }
    for (const std::string& name : names) {
      // Read under the writer's lock: a row set_served writes meanwhile
      // starts from this count or a later one.
      record([&](CatalogStore& c) { c.set_open_files(name, mount_point_, pid_, opens(name)); });
    }
  }

  // Re-reads the catalog when the file changed, and at least every second;
  // writes open counts as they change; queues again the disks whose build
  // waited for the folder they replace.
  void poll() {
    struct stat seen = {};
    Clock::time_point last_read{};
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      flush_opens();
      struct stat st = {};
      stat(catalog_.c_str(), &st);
      const bool changed = st.st_ino != seen.st_ino || st.st_size != seen.st_size ||
                           st.st_mtim.tv_sec != seen.st_mtim.tv_sec || st.st_mtim.tv_nsec != seen.st_mtim.tv_nsec;
      if (changed || Clock::now() - last_read >= std::chrono::seconds(1)) {
        seen = st;
        last_read = Clock::now();
        read_catalog();
        answer_clone_requests();
      }
      lock.lock();
      retry_deferred();
      poll_wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_ || flush_wanted_; });
    }
  }

  // Under mutex_: queues each deferred job whose old folder was released
  // (its delta is free now); forgets those the catalog changed since.
  void retry_deferred() {
    for (auto it = deferred_.begin(); it != deferred_.end();) {
      if (!current(*it)) {
        it = deferred_.erase(it);
      } else if (retired_[it->row.name].expired()) {
        log_info("the old folder of disk {} was released: building it again", it->row.name);
        jobs_.push_back(*it);
        wake_.notify_all();
        it = deferred_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Under mutex_: true while `job` is the last build the catalog asks for.
  bool current(const Job& job) const {
    const auto it = wanted_.find(job.row.name);
    return !stopping_ && it != wanted_.end() && it->second.generation == job.generation;
  }

  // Under mutex_: drops the folder `name`, remembering it while open files
  // hold it (a build of the same disk may wait for its delta). False when
  // there was none.
  bool retire(const std::string& name) {
    if (std::shared_ptr<DiskFolder> old = table_.find(name)) retired_[name] = old;
    return table_.drop(name);
  }

  // Queues a scan for every disk new or changed in the catalog, and drops
  // the folders of the disks it no longer lists.
  void read_catalog() {
    std::vector<CatalogDisk> rows;
    try {
      rows = CatalogStore(catalog_, CatalogStore::Access::read_only).list();
      catalog_error_.clear();
    } catch (const std::exception& e) {
      if (catalog_error_ != e.what()) log_error("{}; the mount keeps the disks it has", e.what());
      catalog_error_ = e.what();
      return;
    }
    std::vector<std::string> queued, gone;
    {
      std::lock_guard lock(mutex_);
      const std::set<std::string> listed = queue_changed(rows, queued);
      for (auto it = wanted_.begin(); it != wanted_.end();) {
        if (listed.count(it->first)) {
          ++it;
          continue;
        }
        gone.push_back(it->first);
        it = wanted_.erase(it);
        if (retire(gone.back()) && !args_.quiet)
          log_info("disk {} left catalog {}: {}/{} is gone", gone.back(), catalog_, mount_point_, gone.back());
      }
    }
    // Rows for the disks queued, so that the catalog shows at once that
    // this mount takes them (and counts opens from the start).
    for (const std::string& name : queued)
      record([&](CatalogStore& c) { c.set_served({name, mount_point_, pid_, opens(name)}); });
    for (const std::string& name : gone) record([&](CatalogStore& c) { c.drop_served(mount_point_, pid_, name); });
  }

  // Under mutex_: queues a build of each row new or changed, adding its
  // name to `queued`; returns the names served (a name that cannot be a
  // folder is left out, logged once).
  std::set<std::string> queue_changed(const std::vector<CatalogDisk>& rows, std::vector<std::string>& queued) {
    std::set<std::string> listed;
    for (const CatalogDisk& row : rows) {
      if (!can_be_folder(row.name)) {
        if (unservable_.insert(row.name).second)
          log_error("catalog {} lists a disk named '{}', which cannot be a folder: {}; it is not served", catalog_,
                    row.name, disk_name_problem(row.name));
        continue;
      }
      listed.insert(row.name);
      const auto it = wanted_.find(row.name);
      if (it != wanted_.end() && same_disk(it->second.row, row)) continue;
      if (it != wanted_.end()) {
        log_info("disk {} changed in catalog {}: building it again", row.name, catalog_);
        retire(row.name);
      }
      wanted_[row.name] = Job{row, ++generation_};
      jobs_.push_back(wanted_[row.name]);
      queued.push_back(row.name);
      wake_.notify_all();
    }
    return listed;
  }

  // A pool thread: builds queued disks until stopped.
  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      const Job job = jobs_.front();
      jobs_.pop_front();
      // A folder of this name still open may hold what the build needs (its delta's lock).
      const bool old_held = !retired_[job.row.name].expired();
      lock.unlock();
      Built built = build(job.row);
      lock.lock();
      // Removed or changed while it was being built: another job (or none) serves it.
      if (!current(job)) continue;
      lock.unlock();
      // The row first: an open of the new folder finds it to count in.
      const std::string& name = job.row.name;
      record([&](CatalogStore& c) { c.set_served({name, mount_point_, pid_, opens(name)}); });
      lock.lock();
      if (current(job)) {
        serve_built(job, std::move(built), old_held);
      } else if (!wanted_.count(name)) {  // removed while its row was written
        lock.unlock();
        record([&](CatalogStore& c) { c.drop_served(mount_point_, pid_, name); });
        lock.lock();
      }
    }
  }

  // Under mutex_: puts the folder of `job`. A build that failed while an
  // old folder of the disk was held (its delta locked: "in use") shows its
  // ERROR and waits in deferred_ for that folder's release.
  void serve_built(const Job& job, Built built, bool old_held) {
    if (!built.error.empty() && old_held) {
      log_info("disk {}: its old folder is still open; built again once it is released", job.row.name);
      built.folder = error_folder(job.row.name, built.error + " (an old folder of this disk is still open: built "
                                                              "again once it is released)");
      deferred_.push_back(job);
    }
    table_.put(std::move(built.folder));
  }

  // The folder of a catalog disk: its files as `vdiskfs mount --name NAME`
  // with the row's options would expose them, or an ERROR folder.
  Built build(const CatalogDisk& row) {
    if (const std::string problem = disk_name_problem(row.name); !problem.empty()) {
      const std::string why = fmt::format("'{}' cannot name a disk: {} (rename it in catalog {})", row.name,
                                          problem, catalog_);
      log_error("disk {}: {}", row.name, why);
      return {error_folder(row.name, why), why};
    }
    try {
      MountArgs m;
      m.layout = layout_args_from_json(row.source, nlohmann::json::parse(row.layout));
      m.layout.quiet = args_.quiet;
      m.layout.progress = false;  // scans run side by side
      m.mount_point = mount_point_ + "/" + row.name;
      m.name = row.name;
      m.formats = args_.formats;
      m.read_only = args_.read_only;
      if (!args_.read_only) m.delta_dir = row.delta_dir;
      if (!args_.read_only) m.delta_layers = layer_dirs(row.name);
      auto disk = std::make_shared<ExposedDisk>(expose_disk(m));
      auto folder = std::make_shared<DiskFolder>();
      folder->name = row.name;
      folder->files = disk->files;
      folder->mtime_ns = disk->prepared.disk.timestamp_ns;
      folder->owner = std::move(disk);
      return {folder, ""};
    } catch (const std::exception& e) {
      log_error("disk {} ({}): {}", row.name, row.source, e.what());
      return {error_folder(row.name, e.what()), e.what()};
    }
  }

  // Makes the clones `vdiskfs clone` asked of this daemon (for disks it
  // serves, whose deltas it holds), and answers each in the catalog.
  void answer_clone_requests() {
    std::vector<CloneRequest> asked;
    try {
      asked = CatalogStore(catalog_, CatalogStore::Access::read_only).clone_requests(pid_);
    } catch (const std::exception&) {
      return;  // read_catalog logs what is wrong with the file
    }
    for (const CloneRequest& r : asked) {
      bool taken = false;
      record([&](CatalogStore& c) { taken = c.answer_clone(r.id, "asked", "working", ""); });
      if (!taken) continue;  // cancelled meanwhile
      std::string state = "done", answer;
      try {
        answer = clone_outcome_json(clone_served(r));
        if (!args_.quiet) log_info("cloned disk {} as {}: {}", r.parent, r.name, answer);
      } catch (const std::exception& e) {
        state = "failed";
        answer = e.what();
        log_error("clone of disk {} as {}: {}", r.parent, r.name, answer);
      }
      record([&](CatalogStore& c) { c.answer_clone(r.id, "working", state, answer); });
    }
  }

  // The clone request `r` of a disk this daemon serves: its deltas frozen
  // while no read or write of its files runs, the clone recorded.
  CloneOutcome clone_served(const CloneRequest& r) {
    const std::shared_ptr<DiskFolder> folder = table_.find(r.parent);
    if (!folder || !folder->owner)
      fail("disk {} is not ready in {} (its scan has not ended, or it could not be built: see {}/{}/ERROR); try again",
           r.parent, mount_point_, mount_point_, r.parent);
    std::vector<std::pair<std::string, OverlayFile*>> files;
    for (size_t i = 0; i < folder->files.size(); ++i)
      if (const auto& writer = folder->files.at(i).writer) files.emplace_back(folder->files.at(i).name, writer.get());
    CloneOutcome out;
    {
      // Not under mutex_: work() takes writer_mutex_ while holding it.
      std::lock_guard lock(writer_mutex_);
      if (!writer_) fail("catalog {} cannot be written by this daemon (see its log)", catalog_);
      const CatalogDisk parent = writer_->get(r.parent);
      CatalogDisk clone = parent;
      clone.name = r.name;
      clone.parent = parent.name;
      clone.delta_dir = r.delta_dir;
      clone.created = time(nullptr);
      clone.identity.reset();
      out = record_clone(
          *writer_, catalog_, parent, clone,
          [&](const std::string& dir, const std::string& id) -> std::optional<LayerInfo> {
            if (files.empty() && !holds_writes(parent.delta_dir)) return std::nullopt;
            if (files.empty())  // served read-only: the deltas are nobody's
              return freeze_deltas(parent.delta_dir, dir, id, parent.name);
            bool written = false;
            for (const auto& f : files) {
              const auto hold = f.second->hold();
              written = written || !f.second->held_unchanged();
            }
            if (!written) return std::nullopt;
            return freeze_served_deltas(parent.delta_dir, dir, id, parent.name, files);
          },
          [&](const LayerInfo& layer) {
            log_error("catalog {} refused the clone after layer {} was frozen; it stays in {} unlisted", catalog_,
                      layer.id, layer.dir);
          });
    }
    // The parent's folder already stands on the new layer: not built again.
    std::lock_guard table_lock(mutex_);
    if (const auto it = wanted_.find(r.parent); it != wanted_.end() && out.layer_id)
      it->second.row.top_layer = out.layer_id;
    return out;
  }

  // The frozen layer folders under disk `name`, bottom first.
  std::vector<std::string> layer_dirs(const std::string& name) const {
    std::vector<std::string> dirs;
    for (const CatalogLayer& l : CatalogStore(catalog_, CatalogStore::Access::read_only).layers_of(name))
      dirs.push_back(l.dir);
    return dirs;
  }

  const ServeArgs& args_;
  const std::string mount_point_, catalog_;
  int64_t pid_ = 0;
  DiskTable table_;
  std::mutex mutex_;  // guards what follows, up to the threads
  std::condition_variable wake_;       // the pool: jobs_ or stopping_
  std::condition_variable poll_wake_;  // the poll thread: flush_wanted_ or stopping_
  bool stopping_ = false;
  std::map<std::string, Job> wanted_;  // the catalog's disks, with the generation of their last scan
  std::deque<Job> jobs_;
  std::vector<Job> deferred_;  // builds waiting for the release of the folder they replace
  std::map<std::string, std::weak_ptr<DiskFolder>> retired_;  // the last folder dropped of each name
  std::set<std::string> unservable_;  // names that cannot be folders, logged
  uint64_t generation_ = 0;
  std::vector<std::thread> threads_;
  std::string catalog_error_;  // the last failure to read the catalog (logged once)
  std::mutex writer_mutex_;
  std::unique_ptr<CatalogStore> writer_;  // records what is served; opened after daemonizing
  std::mutex opens_mutex_;                // guards opens_ and dirty_ (never held while waiting)
  std::map<std::string, int64_t> opens_;  // opens not yet released, by disk name
  std::set<std::string> dirty_;           // names whose count the catalog has not got yet
  std::atomic<bool> flush_wanted_{false};
};

}  // namespace

int serve_command(const ServeArgs& args) {
  if (!args.log_file.empty() && !log_to_file(args.log_file)) fail("cannot open log file {}", args.log_file);
  if (args.jobs < 1 || args.jobs > 64) fail("--jobs {} is not from 1 to 64", args.jobs);
  const std::string mount_point = check_mount_point(args.mount_point);
  // Absolute: the daemon works in /. Opened here once to refuse a file it
  // must not touch (and to create or migrate it) before mounting.
  const std::string catalog =
      std::filesystem::absolute(args.catalog.empty() ? default_catalog_path() : args.catalog).lexically_normal().string();
  if (const auto folder = std::filesystem::path(catalog).parent_path(); !folder.empty())
    std::filesystem::create_directories(folder);
  CatalogStore(catalog, CatalogStore::Access::read_write);
  if (!args.foreground && args.log_file.empty()) log_to_syslog(true);

  Server server(args, mount_point, catalog);
  FuseSettings settings;
  settings.mount_point = mount_point;
  settings.fs_name = "vdiskfs:" + catalog;
  settings.foreground = args.foreground;
  settings.read_only = args.read_only;
  settings.extra_options = args.fuse_options;
  settings.readahead_kib = args.readahead_kib;
  settings.direct_io = args.direct_io;
  settings.on_ready = [&server] { server.start(); };
  settings.open_changed = [&server](const std::string& name, int change) { server.open_changed(name, change); };
  const int rc = serve_fuse(server.table(), settings);
  server.stop();
  return rc;
}

}  // namespace vdiskfs
