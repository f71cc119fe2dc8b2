#include "fuse/cli/clone_command.h"

#include <chrono>
#include <cstdio>
#include <thread>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/catalog/catalog_error.h"
#include "core/catalog/catalog_store.h"
#include "core/delta/delta_fold.h"
#include "core/delta/delta_set.h"
#include "core/delta/frozen_layer.h"
#include "core/image/error.h"
#include "fuse/cli/catalog_command.h"
#include "fuse/cli/layout_json.h"
#include "fuse/cli/mount_command.h"

namespace vdiskfs {
namespace {

using Json = nlohmann::ordered_json;

std::string catalog_file(const CloneArgs& args) {
  return std::filesystem::absolute(args.file.empty() ? default_catalog_path() : args.file).lexically_normal().string();
}

// The clone's delta folder: --delta DIR, or the state folder's for its
// name and source. It must not hold deltas already.
std::string clone_delta_dir(const CloneArgs& args, const CatalogDisk& parent) {
  const std::string dir =
      !args.delta_dir.empty()
          ? std::filesystem::absolute(args.delta_dir).lexically_normal().string()
          : default_disk_delta_dir(args.new_name, layout_args_from_json(parent.source, nlohmann::json::parse(parent.layout)),
                                   parent.source);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !delta_files(dir).empty())
    fail("the clone's delta folder {} holds deltas already: give another --delta DIR, or delete them (vdiskfs delta "
         "discard {})",
         dir, dir);
  return dir;
}

// Puts a frozen layer's deltas back into the folder they came from (a clone
// the catalog refused).
void unfreeze(const LayerInfo& layer, const std::string& delta_dir) {
  for (const LayerFile& f : layer.files)
    std::rename((layer.dir + "/" + f.name).c_str(), (delta_dir + "/" + f.name).c_str());
  set_manifest_identity(delta_dir, layer.below);
  std::vector<std::string> layers = recorded_layers(delta_dir);
  if (!layers.empty() && layers.back() == layer.dir) layers.pop_back();
  record_layers(delta_dir, layers);
  std::error_code ec;
  std::filesystem::remove_all(layer.dir, ec);
}

// Deletes the folders of layers nobody stands on any more.
void delete_layer_folders(const std::vector<CatalogLayer>& layers) {
  for (const CatalogLayer& l : layers) {
    std::error_code ec;
    std::filesystem::remove_all(l.dir, ec);
    if (ec) std::fprintf(stderr, "vdiskfs: cannot delete layer folder %s: %s\n", l.dir.c_str(), ec.message().c_str());
  }
}


// Asks the daemon serving `parent` (pid `pid`) to make the clone, and
// waits for its answer: 60 s for it to take the request, then as long as it
// works on it.
CloneOutcome ask_daemon(CatalogStore& store, const CloneArgs& args, const CatalogDisk& clone, const ServedDisk& by) {
  const int64_t id = store.ask_clone({0, *clone.parent, clone.name, clone.delta_dir, by.pid, "", ""});
  const auto asked = std::chrono::steady_clock::now();
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const CloneRequest r = store.clone_request(id);
    if (r.state == "done") return clone_outcome_of_json(r.answer);
    if (r.state == "failed") fail("{}", r.answer);
    if (r.state == "asked" && std::chrono::steady_clock::now() - asked > std::chrono::seconds(60) &&
        store.answer_clone(id, "asked", "cancelled", ""))
      fail("the vdiskfs serve daemon on {} (pid {}) did not take the clone request for {} within 60 s; nothing was "
           "cloned. Check its log, or stop it and clone again",
           by.mount_point, by.pid, args.name);
  }
}

void print_outcome(const CloneArgs& args, const CatalogStore& store, const CatalogDisk& clone,
                   const CloneOutcome& outcome, bool live) {
  const std::string& parent = *clone.parent;
  if (args.json) {
    Json j;
    j["name"] = clone.name;
    j["parent"] = parent;
    j["delta_dir"] = clone.delta_dir;
    j["new_layer"] = outcome.layer_id ? Json{{"id", *outcome.layer_id}, {"dir", outcome.layer_dir},
                                              {"bytes", outcome.frozen_bytes}}
                                      : Json(nullptr);
    j["layers"] = Json::array();
    for (const CatalogLayer& l : store.layers_of(clone.name)) j["layers"].push_back(l.id);
    j["by_daemon"] = live;
    std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  } else if (outcome.layer_id) {
    std::printf("cloned %s as %s%s: %s's writes so far are frozen in layer %s (%s, %llu bytes moved, none copied); "
                "both go on with deltas of their own (%s's in %s)\n",
                parent.c_str(), clone.name.c_str(), live ? " (by the serving daemon, at a flush point)" : "",
                parent.c_str(), outcome.layer_id->c_str(), outcome.layer_dir.c_str(),
                (unsigned long long)outcome.frozen_bytes, clone.name.c_str(), clone.delta_dir.c_str());
  } else {
    std::printf("cloned %s as %s%s: %s holds no writes of its own, so nothing was frozen; %s's writes go to %s\n",
                parent.c_str(), clone.name.c_str(), live ? " (by the serving daemon)" : "", parent.c_str(),
                clone.name.c_str(), clone.delta_dir.c_str());
  }
}

}  // namespace

std::string layer_dir_of(const std::string& catalog_file, const std::string& id) {
  return (std::filesystem::path(catalog_file).parent_path() / "layers" / id).string();
}

bool holds_writes(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) && !manifest_identity(dir).empty() && !deltas_hold_nothing(dir);
}

std::string clone_outcome_json(const CloneOutcome& outcome) {
  Json j{{"layer", outcome.layer_id ? Json(*outcome.layer_id) : Json(nullptr)},
         {"layer_dir", outcome.layer_dir},
         {"bytes", outcome.frozen_bytes}};
  return j.dump();
}

CloneOutcome clone_outcome_of_json(const std::string& json) {
  const Json j = Json::parse(json);
  CloneOutcome out;
  if (!j["layer"].is_null()) out.layer_id = j["layer"].get<std::string>();
  out.layer_dir = j["layer_dir"].get<std::string>();
  out.frozen_bytes = j["bytes"].get<uint64_t>();
  return out;
}

CloneOutcome record_clone(CatalogStore& store, const std::string& catalog_file, const CatalogDisk& parent,
                          const CatalogDisk& clone, const FreezeFn& freeze,
                          const std::function<void(const LayerInfo&)>& undo) {
  store.check_name_free(clone.name, kCloneNameAdvice);
  const std::string id = store.next_layer_id(parent.name);
  const std::string dir = layer_dir_of(catalog_file, id);
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  const std::optional<LayerInfo> layer = freeze(dir, id);
  std::optional<CatalogLayer> frozen;
  if (layer) frozen = CatalogLayer{id, layer->dir, parent.top_layer, clone.created};
  try {
    store.clone(clone, frozen);
  } catch (...) {
    if (layer) undo(*layer);
    throw;
  }
  CloneOutcome out;
  if (layer) {
    out.layer_id = id;
    out.layer_dir = layer->dir;
    for (const LayerFile& f : layer->files) out.frozen_bytes += f.bytes;
  }
  return out;
}

int clone_command(const CloneArgs& args) {
  const std::string file = catalog_file(args);
  CatalogStore store(file, CatalogStore::Access::read_write);
  const CatalogDisk parent = store.get(args.name);
  store.check_name_free(args.new_name, kCloneNameAdvice);  // before asking a daemon
  CatalogDisk clone = parent;
  clone.name = args.new_name;
  clone.parent = parent.name;
  clone.delta_dir = clone_delta_dir(args, parent);
  clone.created = time(nullptr);
  clone.identity.reset();
  CloneOutcome outcome;
  const std::vector<ServedDisk> served = store.served(parent.name);
  if (!served.empty()) {
    outcome = ask_daemon(store, args, clone, served.front());
  } else {
    const std::string from = parent.delta_dir;
    outcome = record_clone(
        store, file, parent, clone,
        [&](const std::string& dir, const std::string& id) -> std::optional<LayerInfo> {
          if (!holds_writes(from)) return std::nullopt;
          return freeze_deltas(from, dir, id, parent.name);
        },
        [&](const LayerInfo& layer) { unfreeze(layer, from); });
  }
  print_outcome(args, store, store.get(clone.name), outcome, !served.empty());
  return 0;
}

int clone_merge_command(const CloneArgs& args) {
  const std::string file = catalog_file(args);
  CatalogStore store(file, CatalogStore::Access::read_write);
  store.check_merge(args.name);
  const CatalogDisk clone = store.get(args.name);
  const CatalogDisk parent = store.get(*clone.parent);
  for (const std::string& name : {parent.name, clone.name})
    for (const ServedDisk& s : store.served(name))
      fail("disk {} is served by vdiskfs serve on {} (pid {}): remove it from that mount's view first (stop the "
           "serve), then merge",
           name, s.mount_point, s.pid);
  if ((holds_writes(parent.delta_dir) || parent.top_layer != clone.top_layer) && !args.force)
    fail("disk {} was written to since {} was cloned from it (deltas in {}); the merge would drop those writes: run "
         "it with --force to drop them",
         parent.name, clone.name, parent.delta_dir);
  uint64_t copied = 0;
  std::error_code ec;
  if (std::filesystem::is_directory(clone.delta_dir, ec) && !manifest_identity(clone.delta_dir).empty())
    copied = fold_deltas(clone.delta_dir, clone.name, parent.delta_dir, parent.name, manifest_identity(clone.delta_dir));
  else if (std::filesystem::is_directory(parent.delta_dir, ec))
    discard_deltas(parent.delta_dir);  // the clone was never written: the parent becomes its layers' state
  delete_layer_folders(store.merge_into_parent(clone.name));
  discard_deltas(clone.delta_dir);
  std::filesystem::remove(clone.delta_dir, ec);
  std::printf("merged %s into %s (%llu bytes of writes folded in); %s is gone from %s\n", clone.name.c_str(),
              parent.name.c_str(), (unsigned long long)copied, clone.name.c_str(), file.c_str());
  return 0;
}

}  // namespace vdiskfs
