#include "fuse/cli/catalog_command.h"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/catalog/catalog_error.h"
#include "core/catalog/catalog_store.h"
#include "core/catalog/disk_name.h"
#include "core/delta/delta_set.h"
#include "core/delta/frozen_layer.h"
#include "core/source/source_factory.h"
#include "fuse/cli/delta_command.h"
#include "fuse/cli/layout_json.h"
#include "fuse/cli/mount_command.h"

namespace vdiskfs {
namespace {

using Json = nlohmann::ordered_json;

std::string catalog_file(const CatalogArgs& args) { return args.file.empty() ? default_catalog_path() : args.file; }

std::string absolute_path(const std::string& path) {
  return path.empty() ? path : std::filesystem::absolute(path).lexically_normal().string();
}

// The layout options with their files as absolute paths: a catalog is
// served from another working folder.
LayoutArgs with_absolute_paths(LayoutArgs layout) {
  for (std::string* path : {&layout.layout_from, &layout.credentials, &layout.cache_dir, &layout.index_dir})
    *path = absolute_path(*path);
  return layout;
}

// The catalog for list and show: read-only; nullopt when there is none.
std::optional<CatalogStore> open_to_read(const std::string& file) {
  try {
    return CatalogStore(file, CatalogStore::Access::read_only);
  } catch (const CatalogError& e) {
    if (e.fault() == CatalogFault::missing) return std::nullopt;
    throw;
  }
}

std::string utc_text(int64_t seconds) { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(time_t(seconds))); }

// What the catalog records of a disk, as JSON.
Json record_json(const CatalogDisk& d) {
  Json j;
  j["name"] = d.name;
  j["source"] = d.source;
  j["layout"] = Json::parse(d.layout);
  j["delta_dir"] = d.delta_dir;
  j["parent"] = d.parent ? Json(*d.parent) : Json(nullptr);
  j["created"] = utc_text(d.created);
  j["identity"] = d.identity ? Json(*d.identity) : Json(nullptr);
  j["top_layer"] = d.top_layer ? Json(*d.top_layer) : Json(nullptr);
  return j;
}

// The clones of `name` and theirs, as nested objects {name, clones}.
Json clone_tree_json(const CatalogStore& store, const std::string& name) {
  Json j;
  j["name"] = name;
  j["clones"] = Json::array();
  for (const std::string& c : store.clones(name)) j["clones"].push_back(clone_tree_json(store, c));
  return j;
}

// The tree of clones drawn with box characters, one disk a line.
void print_tree(const Json& node, const std::string& indent, bool last, bool root) {
  std::printf("%s%s%s\n", indent.c_str(), root ? "" : last ? "└── " : "├── ", node["name"].get<std::string>().c_str());
  const Json& clones = node["clones"];
  for (size_t i = 0; i < clones.size(); ++i)
    print_tree(clones[i], root ? indent : indent + (last ? "    " : "│   "), i + 1 == clones.size(), false);
}

// The deltas of a disk's folder ([] when it has none yet); one that cannot
// be read is listed with its error.
Json deltas_json(const std::string& dir) {
  Json files = Json::array();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return files;
  for (const std::string& path : delta_files(dir)) {
    try {
      files.push_back(delta_file_json(path));
    } catch (const Error& e) {
      files.push_back(Json{{"path", path}, {"error", e.what()}});
    }
  }
  return files;
}

// Everything `show` says of a disk.
Json show_json(const CatalogStore& store, const CatalogDisk& d) {
  Json j = record_json(d);
  const Json deltas = deltas_json(d.delta_dir);
  // Until the catalog records it, the identity the deltas were written
  // against is the disk's last known one.
  if (!d.identity)
    for (const Json& f : deltas)
      if (f.contains("base_identity")) j["identity"] = f["base_identity"];
  j["deltas"] = deltas;
  j["clones"] = store.clones(d.name);
  Json layers = Json::array();
  for (const CatalogLayer& l : store.layers_of(d.name)) {
    Json layer{{"id", l.id}, {"dir", l.dir}, {"below", l.below ? Json(*l.below) : Json(nullptr)},
               {"created", utc_text(l.created)}};
    layer["deltas"] = deltas_json(l.dir);
    layers.push_back(layer);
  }
  j["layers"] = layers;
  // The tree of clones from the disk's oldest ancestor down.
  std::string root = d.name;
  for (std::optional<std::string> up = d.parent; up; up = store.get(*up).parent) root = *up;
  j["clone_tree"] = clone_tree_json(store, root);
  // The live `vdiskfs serve` daemons serving it (rows of dead pids left
  // out), or null.
  Json served = Json::array();
  for (const ServedDisk& s : store.served(d.name))
    served.push_back({{"mount_point", s.mount_point}, {"pid", s.pid}, {"open_files", s.open_files}});
  j["served_by"] = served.empty() ? Json(nullptr) : served;
  return j;
}

// "8.0 KiB", "1.5 GiB": bytes for a person.
std::string size_text(const Json& bytes) {
  double v = bytes.get<double>();
  const char* unit = "bytes";
  for (const char* next : {"KiB", "MiB", "GiB", "TiB"}) {
    if (v < 1024) break;
    v /= 1024;
    unit = next;
  }
  return unit[0] == 'b' ? fmt::format("{:.0f} bytes", v) : fmt::format("{:.1f} {}", v, unit);
}

void print_show(const Json& j) {
  auto or_text = [](const Json& v, const char* none) { return v.is_null() ? std::string(none) : v.get<std::string>(); };
  std::printf("%-10s %s\n", "name", j["name"].get<std::string>().c_str());
  std::printf("%-10s %s\n", "source", j["source"].get<std::string>().c_str());
  std::printf("%-10s %s\n", "layout", j["layout"].empty() ? "defaults" : j["layout"].dump().c_str());
  std::printf("%-10s %s\n", "identity", or_text(j["identity"], "not yet computed (known once a mount has built the disk)").c_str());
  std::printf("%-10s %s%s\n", "delta", j["delta_dir"].get<std::string>().c_str(),
              j["deltas"].empty() ? " (nothing written yet)" : "");
  for (const Json& f : j["deltas"]) {
    if (f.contains("error"))
      std::printf("  %s: %s\n", f["path"].get<std::string>().c_str(), f["error"].get<std::string>().c_str());
    else
      std::printf("  %s: size %s, %s written\n", f["exposed_file"].get<std::string>().c_str(),
                  size_text(f["logical_size"]).c_str(), size_text(f["bytes_held"]).c_str());
  }
  std::printf("%-10s %s\n", "created", j["created"].get<std::string>().c_str());
  std::printf("%-10s %s\n", "parent", or_text(j["parent"], "none").c_str());
  std::string clones;
  for (const Json& c : j["clones"]) clones += (clones.empty() ? "" : ", ") + c.get<std::string>();
  std::printf("%-10s %s\n", "clones", clones.empty() ? "none" : clones.c_str());
  if (j["layers"].empty()) std::printf("%-10s %s\n", "layers", "none (its delta lies on the disk itself)");
  for (const Json& l : j["layers"]) {
    uint64_t bytes = 0;
    for (const Json& f : l["deltas"])
      if (f.contains("bytes_held")) bytes += f["bytes_held"].get<uint64_t>();
    std::printf("%-10s %s (%s, %s written, frozen %s)\n", &l == &j["layers"].front() ? "layers" : "",
                l["id"].get<std::string>().c_str(), l["dir"].get<std::string>().c_str(), size_text(Json(bytes)).c_str(),
                l["created"].get<std::string>().c_str());
  }
  if (!j["clone_tree"]["clones"].empty()) {
    std::printf("tree\n");
    print_tree(j["clone_tree"], "  ", true, true);
  }
  std::string served;
  if (!j["served_by"].is_null())
    for (const Json& s : j["served_by"])
      served += fmt::format("{}{} (pid {}, {} open file{})", served.empty() ? "" : "; ",
                            s["mount_point"].get<std::string>(), s["pid"].get<int64_t>(), s["open_files"].get<int64_t>(),
                            s["open_files"].get<int64_t>() == 1 ? "" : "s");
  std::printf("%-10s %s\n", "served by", served.empty() ? "not served" : served.c_str());
}

// The linkage faults of one disk: its source cannot be built, its layers do
// not hold over it, or its delta was written over something else.
Json disk_faults(const CatalogStore& store, const CatalogDisk& d) {
  Json faults = Json::array();
  std::string identity;
  try {
    LayoutArgs layout = layout_args_from_json(d.source, nlohmann::json::parse(d.layout));
    layout.quiet = true;
    layout.progress = false;
    identity = prepare_disk(layout).disk.identity.hex();
  } catch (const std::exception& e) {
    faults.push_back(fmt::format("its source {} cannot be built: {}", d.source, e.what()));
    return faults;
  }
  std::vector<std::string> dirs;
  for (const CatalogLayer& l : store.layers_of(d.name)) dirs.push_back(l.dir);
  const std::vector<std::string> layer_problems = layer_faults(dirs, identity);
  for (const std::string& f : layer_problems) faults.push_back(f);
  if (!layer_problems.empty()) return faults;
  const std::string top = stack_identity(dirs, identity), written = manifest_identity(d.delta_dir);
  std::error_code ec;
  if (!written.empty() && written != top && std::filesystem::is_directory(d.delta_dir, ec) &&
      !deltas_hold_nothing(d.delta_dir))
    faults.push_back(fmt::format("its delta in {} was written over identity {}, but the disk {} now has identity {}{}",
                                 d.delta_dir, written, dirs.empty() ? "itself" : "with its layers", top,
                                 dirs.empty() ? ": its source or layout changed" : ""));
  return faults;
}

// The folder `path` as it is reached (symlinks resolved where they exist),
// to tell two spellings of one folder apart from two folders.
std::string same_folder_key(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, ec);
  std::filesystem::path key = (ec ? std::filesystem::path(path) : resolved).lexically_normal();
  if (!key.has_filename() && key.has_relative_path()) key = key.parent_path();  // "a/b/" is "a/b"
  return key.string();
}

// Throws CatalogError shared_delta when another disk of `store` keeps its
// deltas in the folder of `disk`: the two would lock (or write) the same
// files.
void refuse_shared_delta(const CatalogStore& store, const CatalogDisk& disk) {
  const std::string key = same_folder_key(disk.delta_dir);
  for (const CatalogDisk& other : store.list())
    if (same_folder_key(other.delta_dir) == key)
      fail_catalog(CatalogFault::shared_delta,
                   "disk {} of catalog {} already keeps its deltas in {}: give {} another --delta folder",
                   other.name, store.path(), other.delta_dir, disk.name);
}

}  // namespace

std::string default_catalog_path() { return state_dir() + "/catalog.db"; }

int catalog_add_command(const CatalogArgs& args) {
  check_disk_name(args.name);
  check_layout_options(args.layout);
  const LayoutArgs layout = with_absolute_paths(args.layout);
  CatalogDisk disk;
  disk.name = args.name;
  disk.source = resolve_source(layout.source);
  disk.layout = layout_options_json(layout).dump();
  disk.delta_dir = args.delta_dir.empty() ? default_disk_delta_dir(args.name, layout, disk.source)
                                          : absolute_path(args.delta_dir);
  disk.created = time(nullptr);
  const std::string file = catalog_file(args);
  if (const auto folder = std::filesystem::path(file).parent_path(); !folder.empty())
    std::filesystem::create_directories(folder);
  CatalogStore store(file, CatalogStore::Access::read_write);
  refuse_shared_delta(store, disk);
  store.add(disk);
  if (args.json)
    std::printf("%s\n", record_json(disk).dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  else
    std::printf("added %s (%s) to %s; its deltas go to %s\n", disk.name.c_str(), disk.source.c_str(), file.c_str(),
                disk.delta_dir.c_str());
  return 0;
}

int catalog_remove_command(const CatalogArgs& args) {
  const std::string file = catalog_file(args);
  CatalogStore store(file, CatalogStore::Access::read_write);
  const CatalogDisk disk = store.get(args.name);
  const std::vector<CatalogLayer> unused = store.remove(args.name);
  std::printf("removed %s from %s\n", args.name.c_str(), file.c_str());
  std::error_code ec;
  if (args.keep_delta) {
    if (std::filesystem::exists(disk.delta_dir, ec))
      std::printf("its deltas stay in %s (vdiskfs delta discard %s deletes them)\n", disk.delta_dir.c_str(),
                  disk.delta_dir.c_str());
  } else if (std::filesystem::is_directory(disk.delta_dir, ec)) {
    const int n = discard_deltas(disk.delta_dir);
    std::filesystem::remove(disk.delta_dir, ec);  // only when nothing else is left in it
    if (n) std::printf("deleted its delta (%d file%s in %s)\n", n, n == 1 ? "" : "s", disk.delta_dir.c_str());
  }
  for (const CatalogLayer& l : unused) {
    if (args.keep_delta) {
      std::printf("frozen layer %s is no longer used; it stays in %s\n", l.id.c_str(), l.dir.c_str());
      continue;
    }
    std::filesystem::remove_all(l.dir, ec);
    std::printf("deleted frozen layer %s (%s), which no disk stands on any more\n", l.id.c_str(), l.dir.c_str());
  }
  return 0;
}

int catalog_list_command(const CatalogArgs& args) {
  const std::string file = catalog_file(args);
  const std::optional<CatalogStore> store = open_to_read(file);
  const std::vector<CatalogDisk> disks = store ? store->list() : std::vector<CatalogDisk>{};
  if (args.json) {
    Json all = Json::array();
    for (const CatalogDisk& d : disks) all.push_back(record_json(d));
    std::printf("%s\n", all.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    return 0;
  }
  if (disks.empty()) std::printf("no disks in %s%s\n", file.c_str(), store ? "" : " (it does not exist yet)");
  size_t width = 4;
  for (const CatalogDisk& d : disks) width = std::max(width, d.name.size());
  if (!disks.empty()) std::printf("%-*s  %s\n", int(width), "NAME", "SOURCE");
  for (const CatalogDisk& d : disks) std::printf("%-*s  %s\n", int(width), d.name.c_str(), d.source.c_str());
  return 0;
}

int catalog_show_command(const CatalogArgs& args) {
  const std::string file = catalog_file(args);
  const CatalogStore store(file, CatalogStore::Access::read_only);
  const Json j = show_json(store, store.get(args.name));
  if (args.json)
    std::printf("%s\n", j.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  else
    print_show(j);
  return 0;
}

int catalog_check_command(const CatalogArgs& args) {
  const std::string file = catalog_file(args);
  const CatalogStore store(file, CatalogStore::Access::read_only);
  Json report = Json::array();
  size_t faults = 0;
  for (const CatalogDisk& d : store.list()) {
    Json entry{{"name", d.name}, {"faults", disk_faults(store, d)}};
    faults += entry["faults"].size();
    report.push_back(entry);
  }
  if (args.json) {
    std::printf("%s\n", report.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
  } else {
    for (const Json& e : report)
      for (const Json& f : e["faults"])
        std::printf("%s: %s\n", e["name"].get<std::string>().c_str(), f.get<std::string>().c_str());
    std::printf("%zu disk%s checked, %zu linkage fault%s\n", report.size(), report.size() == 1 ? "" : "s", faults,
                faults == 1 ? "" : "s");
  }
  return faults ? 1 : 0;
}

}  // namespace vdiskfs
