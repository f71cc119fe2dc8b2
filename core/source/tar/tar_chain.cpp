#include "core/source/tar/tar_chain.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/tree_builder.h"

namespace vdiskfs {
namespace {

// Where an entry of the chain's state comes from: an archive and its node.
struct Ref {
  uint32_t archive;
  uint32_t node;
};

// The tree as extraction leaves it after some archives, by path ("" is
// the root). std::map keeps a directory's subtree contiguous: the keys
// from "dir/" up to "dir0" ('0' follows '/').
using State = std::map<std::string, Ref>;

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  return std::string(dir) + "/" + std::string(name);
}

// The range of `path`'s descendants in the state.
std::pair<State::iterator, State::iterator> descendants(State& state, const std::string& path) {
  if (path.empty()) return {state.upper_bound(""), state.end()};
  return {state.lower_bound(path + "/"), state.lower_bound(path + "0")};
}

// Removes `path` and everything under it; returns how many entries went.
uint64_t erase_subtree(State& state, const std::string& path) {
  auto [from, to] = descendants(state, path);
  uint64_t n = uint64_t(std::distance(from, to));
  state.erase(from, to);
  return n + state.erase(path);
}

// Moves `from` and everything under it to `to` (a directory rename).
void move_subtree(State& state, const std::string& from, const std::string& to) {
  std::vector<std::pair<std::string, Ref>> moved;
  auto [first, last] = descendants(state, from);
  for (auto it = first; it != last; ++it) moved.emplace_back(to + it->first.substr(from.size()), it->second);
  moved.emplace_back(to, state.at(from));
  erase_subtree(state, from);
  erase_subtree(state, to);
  for (auto& [path, ref] : moved) state.emplace(std::move(path), ref);
}

// A directory as messages name it: "." for the root.
std::string_view shown(const std::string& path) { return path.empty() ? std::string_view(".") : path; }

// One entry of a dumpdir: its control letter and name.
struct DumpdirEntry {
  char letter;
  std::string_view name;
};

// The entries of a dumpdir, up to the empty one that ends it. Throws Error
// for one that does not end (a corrupt listing).
std::vector<DumpdirEntry> parse_dumpdir(const TarDumpdir& d, const std::string& archive) {
  std::vector<DumpdirEntry> out;
  std::string_view rest = d.listing;
  while (!rest.empty() && rest.front() != '\0') {
    const size_t end = rest.find('\0');
    if (end == std::string_view::npos)
      fail("{}: the dumpdir of directory '{}' (member at offset {}) does not end with an empty entry: corrupt", archive,
           shown(d.path), d.header_offset);
    out.push_back({rest.front(), rest.substr(1, end - 1)});
    rest.remove_prefix(end + 1);
  }
  return out;
}

// A path as a dumpdir's rename records give it ("./d1"), normalized.
std::string rename_path(std::string_view raw, const TarDumpdir& d, const std::string& archive) {
  std::string why;
  std::optional<std::string> path = normalized_entry_path(raw, why);
  if (!path || path->empty())
    fail("{}: the dumpdir of directory '{}' (member at offset {}) renames '{}': {}", archive, shown(d.path), d.header_offset,
         raw, path ? "the root cannot be renamed" : why);
  return *path;
}

// Applies one archive to the state, as `tar --listed-incremental=/dev/null
// -x` does (GNU tar, incremen.c, try_purge_directory): renames first, then
// each directory loses what its dumpdir does not list, then the archive's
// members replace what was there.
class ArchiveApplier {
 public:
  ArchiveApplier(State& state, const std::vector<std::unique_ptr<TarSource>>& archives, uint32_t k,
                 const std::string& name, PointInTime& point)
      : state_(state), archives_(archives), k_(k), a_(*archives[k]), name_(name), point_(point) {}

  void apply() {
    if (a_.dumpdirs().empty())
      fail("{} holds no directory listings (dumpdirs): it was not made by GNU tar --listed-incremental and cannot be "
           "archive {} of a chain",
           name_, k_ + 1);
    if (k_ == 0) check_full();
    for (const TarDumpdir& d : a_.dumpdirs()) renames(d);
    for (const TarDumpdir& d : a_.dumpdirs()) purge(d);
    add_members();
    point_.entries = state_.size() - 1;
  }

 private:
  bool is_dir(const Ref& r) const { return archives_[r.archive]->tree().nodes[r.node].is_dir(); }

  // A full backup's listings name no file of an earlier one (N) and no
  // rename (R).
  void check_full() const {
    for (const TarDumpdir& d : a_.dumpdirs())
      for (const DumpdirEntry& e : parse_dumpdir(d, name_))
        if (e.letter == 'N' || e.letter == 'R')
          fail("{}: directory '{}' (member at offset {}) {} '{}': it is an incremental backup, and the first archive "
               "of a chain must be a full (level 0) backup",
               name_, shown(d.path), d.header_offset,
               e.letter == 'N' ? "lists as unchanged since an earlier backup" : "records the rename of", e.name);
  }

  // R/T pairs move a directory; X names the temporary stub of a cycle.
  void renames(const TarDumpdir& d) {
    const std::vector<DumpdirEntry> entries = parse_dumpdir(d, name_);
    std::string stub;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].letter == 'X') stub = rename_path(entries[i].name, d, name_);  // a full name, as R/T's
      if (entries[i].letter != 'R') continue;
      if (i + 1 == entries.size() || entries[i + 1].letter != 'T')
        fail("{}: the dumpdir of directory '{}' (member at offset {}) has a rename record R without its T: corrupt",
             name_, shown(d.path), d.header_offset);
      if ((entries[i].name.empty() || entries[i + 1].name.empty()) && stub.empty())
        fail("{}: the dumpdir of directory '{}' (member at offset {}) has a rename with an empty name and no X "
             "record before it: corrupt",
             name_, shown(d.path), d.header_offset);
      const std::string from = entries[i].name.empty() ? stub : rename_path(entries[i].name, d, name_);
      const std::string to = entries[i + 1].name.empty() ? stub : rename_path(entries[i + 1].name, d, name_);
      ++i;
      if (!state_.count(from))
        fail("{}: directory '{}' (member at offset {}) records the rename of '{}' to '{}', which no earlier archive "
             "holds: a level of the chain is missing or the archives are out of order",
             name_, shown(d.path), d.header_offset, from, to);
      move_subtree(state_, from, to);
      ++point_.renamed;
    }
  }

  // What the directory does not list is gone; what it lists as unchanged
  // must be there.
  void purge(const TarDumpdir& d) {
    std::set<std::string_view> listed;
    for (const DumpdirEntry& e : parse_dumpdir(d, name_)) {
      if (e.letter != 'Y' && e.letter != 'N' && e.letter != 'D') continue;
      listed.insert(e.name);
      if (e.letter != 'N') continue;
      if (!state_.count(join(d.path, e.name)))
        fail("{}: directory '{}' (member at offset {}) lists '{}' as unchanged since an earlier backup, but no earlier "
             "archive of the chain holds it: a level of the chain is missing or the archives are out of order",
             name_, shown(d.path), d.header_offset, e.name);
    }
    auto it = state_.find(d.path);
    if (it == state_.end() || !is_dir(it->second)) return;  // a new directory: nothing to purge
    std::vector<std::string> gone;
    auto [from, to] = descendants(state_, d.path);
    const size_t prefix = d.path.empty() ? 0 : d.path.size() + 1;
    for (auto c = from; c != to; ++c) {
      const std::string_view name = std::string_view(c->first).substr(prefix);
      if (name.find('/') == std::string_view::npos && !listed.count(name)) gone.push_back(c->first);
    }
    for (const std::string& path : gone) point_.removed += erase_subtree(state_, path);
  }

  // The archive's own entries, walked from its root.
  void add_members() {
    const Tree& t = a_.tree();
    state_[""] = Ref{k_, 0};
    for_each_path(t, 0, [&](const Dirent& e, const std::string& path) {
      const bool dir_now = t.nodes[e.node].is_dir();
      auto it = state_.find(path);
      if (it == state_.end()) {
        ++point_.added;
      } else {
        const bool dir_before = is_dir(it->second);
        if (!dir_now || !dir_before) ++point_.changed;  // a directory's listing is in every archive: not a change
        if (!dir_now && dir_before) point_.removed += erase_subtree(state_, path) - 1;  // a directory became a file
      }
      state_[path] = Ref{k_, e.node};
      return true;
    });
  }

  State& state_;
  const std::vector<std::unique_ptr<TarSource>>& archives_;
  const uint32_t k_;
  const TarSource& a_;
  const std::string& name_;
  PointInTime& point_;
};

// The tree of the state: entries by path to TreeBuilder, hard links (one
// archive node under several paths) as links; origin gets each node's Ref.
Tree chain_tree(const State& state, const std::vector<std::unique_ptr<TarSource>>& archives,
                std::vector<uint64_t>& origin) {
  const Ref root = state.at("");
  TreeBuilder builder(archives[root.archive]->tree().nodes[root.node]);
  builder.reserve(state.size());
  std::unordered_map<uint64_t, std::string> first_name;
  for (const auto& [path, ref] : state) {
    const Tree& t = archives[ref.archive]->tree();
    const uint64_t key = uint64_t(ref.archive) << 32 | ref.node;
    std::string why;
    const std::string* link_to = nullptr;  // the first path of a file of several names
    if (!t.nodes[ref.node].is_dir() && t.nodes[ref.node].nlink > 1) {
      auto [it, first] = first_name.emplace(key, path);
      if (!first) link_to = &it->second;
    }
    if (link_to) {
      why = builder.add_hard_link(path, *link_to);
    } else {
      EntrySpec spec = entry_spec_of(t, ref.node);
      spec.payload = key;
      why = builder.add(path, std::move(spec));
    }
    if (!why.empty()) fail("tar chain: entry {}: {}", path, why);
  }
  return builder.finish(origin);
}

Timestamp file_mtime(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Timestamp{};
  return Timestamp{int64_t(st.st_mtim.tv_sec), uint32_t(st.st_mtim.tv_nsec)};
}

std::string chain_text(const std::vector<std::string>& archives) {
  std::string out;
  for (const std::string& a : archives) out += (out.empty() ? "" : " + ") + a;
  return out;
}

}  // namespace

std::unique_ptr<TarChain> TarChain::open(const std::vector<std::string>& archives, uint32_t at,
                                         const ScanOptions& options, ScanReport& report) {
  if (archives.empty()) fail("a chain needs at least one archive");
  if (at > archives.size())
    fail("--at {}: the chain has {} archive{} ({})", at, archives.size(), archives.size() == 1 ? "" : "s",
         chain_text(archives));
  std::unique_ptr<TarChain> chain(new TarChain());
  chain->at_ = at == 0 ? uint32_t(archives.size()) : at;
  chain->describe_ = fmt::format("tar chain {} (as of archive {} of {})", chain_text(archives), chain->at_,
                                 archives.size());
  State state;
  for (uint32_t k = 0; k < archives.size(); ++k) {
    chain->archives_.push_back(TarSource::open(archives[k], options, report));
    PointInTime point;
    point.archive = archives[k];
    point.time = file_mtime(archives[k]);
    point.shown = k + 1 == chain->at_;
    if (k > 0 && point.time.sec < chain->points_.back().time.sec)
      log_warning("{} (archive {} of the chain) is older than {} before it: are the archives in order?", archives[k],
                  k + 1, archives[k - 1]);
    ArchiveApplier(state, chain->archives_, k, archives[k], point).apply();
    chain->points_.push_back(point);
    if (k + 1 == chain->at_) chain->tree_ = chain_tree(state, chain->archives_, chain->origin_);
  }
  return chain;
}

Status TarChain::read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const {
  const uint64_t origin = origin_[node];
  return archives_[size_t(origin >> 32)]->read_file(uint32_t(origin), offset, buf, len);
}

void TarChain::data_order(std::vector<uint32_t>& files) const {
  // rank[k][node]: the node's place in archive k's own order.
  std::vector<std::vector<uint32_t>> rank(archives_.size());
  std::vector<uint32_t> order;
  for (size_t k = 0; k < archives_.size(); ++k) {
    archives_[k]->data_order(order);
    rank[k].assign(archives_[k]->tree().nodes.size(), 0);
    for (uint32_t i = 0; i < order.size(); ++i) rank[k][order[i]] = i;
  }
  files.clear();
  for (uint32_t n = 0; n < tree_.nodes.size(); ++n)
    if (tree_.nodes[n].is_regular()) files.push_back(n);
  auto key = [&](uint32_t n) {
    const uint64_t o = origin_[n];
    return std::make_pair(o >> 32, rank[size_t(o >> 32)][uint32_t(o)]);
  };
  std::stable_sort(files.begin(), files.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
}

std::vector<std::string> split_chain(const std::string& typed) {
  struct stat st;
  if (typed.find('+') == std::string::npos || stat(typed.c_str(), &st) == 0) return {typed};
  std::vector<std::string> parts;
  for (size_t from = 0;;) {
    const size_t plus = typed.find('+', from);
    parts.push_back(typed.substr(from, plus == std::string::npos ? std::string::npos : plus - from));
    if (parts.back().empty()) fail("chain {}: an empty archive name (two '+' in a row, or one at an end)", typed);
    if (plus == std::string::npos) return parts;
    from = plus + 1;
  }
}

}  // namespace vdiskfs
